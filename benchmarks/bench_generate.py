"""Batched generation throughput (tokens/s) against a single-sequence loop, same prompts.

Both runs go through `biaskit.prompting.generate.generate_requests` with the same
per-sample seeds, so they generate exactly the same tokens (sampling in biaskit does not
depend on batching): the batched run (batch 16, left padding) and the loop (batch 1)
differ only in how the work is scheduled. Models: the lab model and a GPT-2-small-shaped
random model (12 layers, width 768, vocabulary 50257). Goal (issue 8): >= 4x on CPU with
batch 16. The last line is the ratio on the lab model.
"""

from __future__ import annotations

import argparse

from _common import interleaved, machine, random_texts

from biaskit.prompting.battery import battery_from_rows
from biaskit.prompting.generate import build_requests, generate_requests
from biaskit.prompting.sampling import SamplingConfig


def measure(model, n_prompts: int, new_tokens: int, batch: int, rounds: int, seed: int,
            greedy: bool = False) -> tuple[float, float, int]:
    """Tokens/s of the batched run and of the loop, and tokens generated per run."""
    texts = random_texts(n_prompts, seed=seed, min_words=4, max_words=12)
    battery = battery_from_rows([{"id": str(i), "text": t} for i, t in enumerate(texts)])
    sampling = SamplingConfig(do_sample=not greedy, temperature=1.0, top_p=0.95,
                              max_new_tokens=new_tokens, seed=seed)
    requests = build_requests(model.tokenizer, battery, 1, sampling)
    out: dict[str, list] = {}

    def run(bs: int, key: str):
        return lambda: out.__setitem__(key, generate_requests(model, requests, sampling, batch_size=bs,
                                                              progress=False))

    times = interleaved({"batched": run(batch, "batched"), "loop": run(1, "loop")}, rounds)
    assert [g.text for g in out["batched"]] == [g.text for g in out["loop"]], "outputs differ"
    tokens = sum(g.n_tokens for g in out["batched"])
    return tokens * rounds / times["batched"], tokens * rounds / times["loop"], tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="lab", help="lab, lab-tiny or a model directory.")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--skip-gpt2", action="store_true", help="Only the lab model.")
    parser.add_argument("--greedy", action="store_true", help="Greedy decoding instead of sampling.")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    mode = "greedy" if args.greedy else "sampling (T=1, top_p=0.95)"
    print(f"{args.prompts} prompts x {args.new_tokens} new tokens, {mode}, "
          f"batch {args.batch} vs 1, {args.rounds} round(s)")
    from biaskit.models import load_model
    from biaskit.models.tiny import tiny_model

    results = []
    if not args.skip_gpt2:
        gpt2 = tiny_model("gpt2", n_layer=12, n_embd=768, n_head=12, n_positions=1024, vocab_size=50257)
        results.append(("gpt2-small-shaped (random)", gpt2))
    results.append((args.model, load_model(args.model, device="cpu")))
    ratio = float("nan")
    for name, model in results:
        batched, loop, tokens = measure(model, args.prompts, args.new_tokens, args.batch, args.rounds, 0,
                                          args.greedy)
        ratio = batched / loop
        print(f"{name}: batched {batched:.0f} tok/s, loop {loop:.0f} tok/s ({tokens} tokens per run)")
    print(f"batched / loop throughput ({results[-1][0]}): {ratio:.2f}x")


if __name__ == "__main__":
    main()
