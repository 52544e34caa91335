"""LoRA training throughput (tokens/s) against a plain full forward+backward of the same batches.

Issue 7's performance note. The batches are the lab's synthetic conversation logs in the
chat format `biaskit.editors.lora` trains on (already tokenised, right-padded, assistant
labels). Three runs, interleaved (`_common.interleaved`) so a noisy machine slows them
alike:

- `full fwd+bwd`: the plain model, forward with labels and backward through every
  parameter (no optimiser step): the baseline the issue names;
- `full step`: the same plus an AdamW step on every parameter (what full fine-tuning costs);
- `lora step`: what `finetune` does per step: peft LoRA (rank 8, attention + MLP
  projections) forward, backward to the LoRA factors only, AdamW on them.

Peak memory of each run is the process's resident high-water mark above its level before
the run (reset through /proc/self/clear_refs on Linux), or the CUDA peak on a GPU. With
`--gpu`, the model is a random-weight 0.5B Llama-shaped config (Qwen2.5-0.5B sizes) in
bfloat16 instead of the lab; `--model llama-20m` is a mid-size random Llama on the CPU.
The last line is the LoRA / full fwd+bwd throughput ratio.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import time
from pathlib import Path

import torch
from _common import interleaved, machine

from biaskit.editors.lora import LoraConfig, target_modules
from biaskit.editors.lora_data import collate, encode_corpus
from biaskit.lab.interactions import generate_interactions


def _status(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"{field}:\s+(\d+)", text)
    return int(found.group(1)) * 1024 if found else None


def peak_bytes(run, device: torch.device) -> float:
    """Peak memory of one `run()` above the level before it (bytes; NaN when unreadable).

    On a GPU: the CUDA allocator's peak. On Linux CPUs: `run()` goes in a forked child, so
    every run starts from the same memory state (no allocator caches of earlier runs), and
    the child's resident high-water mark is reset first (/proc/self/clear_refs).
    """
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        run()
        torch.cuda.synchronize()
        return float(torch.cuda.max_memory_allocated() - start)
    if not hasattr(os, "fork") or _status("VmHWM") is None:
        return float("nan")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            # An OpenMP pool inherited through fork() deadlocks at the child's first parallel
            # region; one thread avoids the pool (memory, not time, is measured here).
            torch.set_num_threads(1)
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
            start = _status("VmRSS")
            run()
            os.write(write, str(_status("VmHWM") - start).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        text = fh.read()
    os.waitpid(pid, 0)
    return float(text) if text else float("nan")


def build(args: argparse.Namespace):
    """The model (a biaskit Model) and the device."""
    from biaskit.models.tiny import tiny_model

    if args.gpu:
        model = tiny_model("llama", dtype=torch.bfloat16, num_hidden_layers=24, hidden_size=896,
                           intermediate_size=4864, num_attention_heads=14, num_key_value_heads=2,
                           head_dim=64, vocab_size=151936, max_position_embeddings=4096)
        model.hf.to("cuda")
        return model, torch.device("cuda")
    if args.model == "llama-20m":  # random weights, byte tokenizer (ids < 260 of the 8192)
        return tiny_model("llama", num_hidden_layers=6, hidden_size=512, intermediate_size=1536,
                          num_attention_heads=8, num_key_value_heads=8, vocab_size=8192,
                          max_position_embeddings=1024), torch.device("cpu")
    from biaskit.models import load_model

    return load_model(args.model, device="cpu"), torch.device("cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="lab", choices=("lab", "lab-tiny", "llama-20m"),
                        help="CPU model: the lab, lab-tiny, or a 20M random Llama")
    parser.add_argument("--conversations", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gpu", action="store_true", help="0.5B random Llama in bf16 on CUDA")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    model, device = build(args)
    rows = generate_interactions(args.conversations, seed=0)
    examples = encode_corpus(model.tokenizer, rows, args.max_length)
    pad = model.tokenizer.pad_token_id
    batches = [tuple(t.to(device) for t in collate(examples[i:i + args.batch_size], pad))
               for i in range(0, len(examples), args.batch_size)]
    n_tokens = sum(int(b[1].sum()) for b in batches)

    full = copy.deepcopy(model.hf).train()
    full_opt = torch.optim.AdamW(full.parameters(), lr=1e-5)

    from peft import LoraConfig as PeftConfig
    from peft import get_peft_model

    config = LoraConfig(rank=args.rank, alpha=2 * args.rank, dropout=0.0)
    lora = get_peft_model(model.hf, PeftConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=0.0,
                                               target_modules=target_modules(model, config),
                                               task_type="CAUSAL_LM")).train()
    lora_opt = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=1e-4)

    def full_fwd_bwd() -> None:
        with torch.enable_grad():
            for ids, mask, labels in batches:
                full(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss.backward()
                full.zero_grad(set_to_none=True)

    def full_step() -> None:
        with torch.enable_grad():
            for ids, mask, labels in batches:
                full(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss.backward()
                full_opt.step()
                full_opt.zero_grad(set_to_none=True)

    def lora_step() -> None:
        with torch.enable_grad():
            for ids, mask, labels in batches:
                lora(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss.backward()
                lora_opt.step()
                lora_opt.zero_grad(set_to_none=True)

    runs = {"full fwd+bwd": full_fwd_bwd, "full step": full_step, "lora step": lora_step}
    with torch.enable_grad():  # one-time costs (autograd threads, kernels) before measuring memory
        ids, mask, labels = (t[:1, :8] for t in batches[0])
        full(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss.backward()
        full.zero_grad(set_to_none=True)
    memory = {name: peak_bytes(run, device) for name, run in runs.items()}
    start = time.perf_counter()
    times = interleaved(runs, args.rounds)
    n_params = sum(p.numel() for p in full.parameters())
    trainable = sum(p.numel() for p in lora.parameters() if p.requires_grad)
    print(f"model: {'0.5B random Llama, bf16, cuda' if args.gpu else args.model} ({n_params:,} parameters; "
          f"LoRA rank {args.rank}: {trainable:,} trainable); {len(batches)} batches of {args.batch_size}, "
          f"{n_tokens:,} tokens, {args.rounds} rounds in {time.perf_counter() - start:.1f} s")
    for name in runs:
        rate = n_tokens * args.rounds / times[name]
        print(f"  {name:>13}: {rate:>10,.0f} tokens/s   peak memory +{memory[name] / 2**20:,.1f} MiB")
    ratio = times["full fwd+bwd"] / times["lora step"]
    print(f"lora step / full fwd+bwd throughput: {ratio:.2f}")


if __name__ == "__main__":
    main()
