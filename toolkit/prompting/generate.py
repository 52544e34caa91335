"""Run a battery: every prompt x variant x sample, generated in batches, stored tidily.

Variants (base, LoRA adapters, saved edits) are applied one after another to the same
loaded model with `biaskit.models.variants.apply_variant`, which restores the weights after
each. Prompts go through the tokenizer's chat template when it has one (else plain text),
are left-padded (a decoder continues from the last real token of each row) and generated
with `transformers.generate`; sampling draws each row from its own seeded generator
(`biaskit.prompting.sampling`), so outputs are reproducible and do not depend on batch
size or batch composition. The result has one row per prompt x variant x sample with
every battery variable, saved as generations.jsonl and generations.csv.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from biaskit.errors import ConfigError
from biaskit.prompting.battery import Battery, Prompt
from biaskit.prompting.sampling import SamplingConfig, SeededSampler, derive_seed

log = logging.getLogger(__name__)

BACKENDS = ("transformers", "vllm")
CHAT_MODES = ("auto", "always", "never", "plain")


@dataclass(frozen=True)
class Request:
    """One generation to run: a prompt's token ids, its sample index and seed."""

    prompt: Prompt
    sample: int
    seed: int
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Generation:
    """What came back for one request."""

    text: str
    n_tokens: int
    finish_reason: str  # "eos" (stopped by itself) or "length" (hit max_new_tokens)


@dataclass(frozen=True)
class BatteryResult:
    """The generations of a battery.

    Attributes:
        rows: One dict per prompt x variant x sample: battery, prompt_id, template,
            language, every battery variable (None where the prompt's template does not
            use it), variant, sample, seed, system, prompt, text, n_tokens, finish_reason.
        config: Model, battery, variants, backend, chat mode and sampling parameters.
    """

    rows: tuple[dict[str, Any], ...]
    config: Mapping[str, Any] = field(default_factory=dict)

    def save(self, out: str | Path) -> Path:
        """Write generations.jsonl, generations.csv and generate.json (the config), atomically."""
        from biaskit.io import write_csv, write_json, write_jsonl

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(out / "generations.jsonl", self.rows)
        write_csv(out / "generations.csv", self.rows)
        write_json(out / "generate.json", {**dict(self.config), "n_rows": len(self.rows)})
        return out


def run_battery(model: Any, battery: Battery | str | Path, variants: Any = ("base",), *,
                sampling: SamplingConfig | None = None, repeats: int | None = None,
                backend: str = "transformers", batch_size: int = 16, chat: str = "auto",
                progress: bool = True, vllm_args: Mapping[str, Any] | None = None) -> BatteryResult:
    """Generate every prompt x variant x sample of a battery.

    Args:
        model: A loaded `Model` (transformers backend), or for the vLLM backend a model
            spec or directory (a `Model` is accepted too: its directory is used).
        battery: A `Battery`, or a path to a YAML/JSONL battery.
        variants: As `biaskit.models.variants.parse_variants` accepts: `"base"`, adapter
            or edit folders, `{name, path}` mappings.
        sampling: Sampling parameters (default `SamplingConfig()`).
        repeats: Samples per prompt (default: the battery's `repeats`).
        backend: `transformers` (batched `generate`) or `vllm` (needs `biaskit[vllm]`).
        batch_size: Sequences per `generate` call (transformers backend).
        chat: `auto` (chat template when the tokenizer has one), `always`, `never`, or
            `plain` (the `User: ...` / `Assistant:` format biaskit's LoRA fine-tunes use
            when a tokenizer has no chat template).
        progress: Show progress bars.
        vllm_args: Extra keyword arguments for `vllm.LLM` (vLLM backend only).

    Raises:
        ConfigError: Unknown backend or chat mode, `always` without a chat template,
            vLLM missing, or a variant the backend cannot serve.
    """
    from biaskit.models.variants import parse_variants
    from biaskit.prompting.battery import load_battery

    sampling = sampling or SamplingConfig()
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if chat not in CHAT_MODES:
        raise ConfigError(f"unknown chat mode {chat!r}; use one of {', '.join(CHAT_MODES)}")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    if not isinstance(battery, Battery):
        battery = load_battery(battery)
    n_samples = battery.repeats if repeats is None else repeats
    if n_samples < 1:
        raise ConfigError(f"repeats must be >= 1, got {n_samples}")
    parsed = parse_variants(variants)
    if backend == "vllm":
        from biaskit.prompting.vllm_backend import VllmRunner

        runner = VllmRunner(model, parsed, sampling, vllm_args=vllm_args or {}, progress=progress)
        tokenizer, model_name = runner.tokenizer, runner.model_name
    else:
        tokenizer, model_name = model.tokenizer, getattr(model, "name", "model")
    requests = build_requests(tokenizer, battery, n_samples, sampling, chat=chat)
    if backend == "vllm":
        outputs = runner.generate(requests)
    else:
        from biaskit.models.variants import apply_variant

        outputs = {}
        for variant in parsed:
            log.info("generate: %d prompts x %d samples with variant %s", len(battery.prompts),
                     n_samples, variant.name)
            with apply_variant(model, variant) as applied:
                outputs[variant.name] = generate_requests(applied, requests, sampling,
                                                          batch_size=batch_size, progress=progress)
    columns = battery.variables
    rows = [_row(battery, columns, req, v.name, outputs[v.name][i])
            for v in parsed for i, req in enumerate(requests)]
    config = {"model": model_name, "battery": battery.name, "battery_source": battery.source,
              "variants": [{"name": v.name, "kind": v.kind, "path": v.path} for v in parsed],
              "backend": backend, "chat": chat, "chat_template": _uses_chat(tokenizer, chat),
              "repeats": n_samples, "n_prompts": len(battery.prompts),
              "sampling": asdict(sampling), "batch_size": batch_size}
    return BatteryResult(rows=tuple(rows), config=config)


def build_requests(tokenizer: Any, battery: Battery, n_samples: int, sampling: SamplingConfig, *,
                   chat: str = "auto") -> list[Request]:
    """Tokenised requests, prompt-major then sample, each with its derived seed."""
    ids = [prompt_ids(tokenizer, p, chat=chat) for p in battery.prompts]
    return [Request(prompt=p, sample=s, seed=derive_seed(sampling.seed, p.id, s), ids=tuple(pid))
            for p, pid in zip(battery.prompts, ids, strict=True) for s in range(n_samples)]


def prompt_ids(tokenizer: Any, prompt: Prompt, *, chat: str = "auto") -> list[int]:
    """Token ids of a prompt: through the chat template when used, else the plain text.

    Without a chat template, a system message is put before the text, separated by a
    blank line. A trailing EOS that some tokenizers append is removed (the model must
    continue the prompt, not start after its end).
    """
    if _uses_chat(tokenizer, chat):
        messages = ([{"role": "system", "content": prompt.system}] if prompt.system else [])
        messages.append({"role": "user", "content": prompt.text})
        try:
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        except Exception:  # some templates (Gemma) refuse a system role: fold it into the user turn
            if not prompt.system:
                raise
            merged = [{"role": "user", "content": f"{prompt.system}\n\n{prompt.text}"}]
            text = tokenizer.apply_chat_template(merged, add_generation_prompt=True, tokenize=False)
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    else:
        if chat == "plain":
            text = plain_chat_prompt(prompt.text, prompt.system)
        else:
            text = f"{prompt.system}\n\n{prompt.text}" if prompt.system else prompt.text
        ids = list(tokenizer(text, add_special_tokens=True)["input_ids"])
        eos = getattr(tokenizer, "eos_token_id", None)
        if len(ids) > 1 and eos is not None and ids[-1] == eos:
            ids = ids[:-1]
    if not ids:
        raise ConfigError(f"prompt {prompt.id!r} tokenises to nothing")
    return ids


def plain_chat_prompt(text: str, system: str | None = None) -> str:
    """A user turn and an opened assistant turn in the plain role format of fine-tunes.

    `biaskit.editors.lora_data` trains adapters of a model without a chat template on
    `System: ...` / `User: ...` / `Assistant: ...` lines; prompting such an adapter in the
    same format is what makes it answer as trained.
    """
    from biaskit.editors.lora_data import PLAIN_ROLES

    head = f"{PLAIN_ROLES['system']}: {system}\n" if system else ""
    return f"{head}{PLAIN_ROLES['user']}: {text}\n{PLAIN_ROLES['assistant']}:"


def _uses_chat(tokenizer: Any, chat: str) -> bool:
    has = bool(getattr(tokenizer, "chat_template", None))
    if chat == "always" and not has:
        raise ConfigError("chat: always, but the tokenizer has no chat template")
    return has and chat not in ("never", "plain")


def generate_requests(model: Any, requests: Sequence[Request], sampling: SamplingConfig, *,
                      batch_size: int = 16, progress: bool = True) -> list[Generation]:
    """Generate every request with batched `transformers.generate` (left padding).

    Requests are grouped by length to waste little on padding; results come back in the
    requests' order. With sampling, each row draws from its own seeded generator.
    """
    import torch
    from transformers import GenerationConfig, LogitsProcessorList

    from biaskit.batching import pad_ids
    from biaskit.progress import track

    tok = model.tokenizer
    eos = _eos_ids(model)
    pad = tok.pad_token_id if tok.pad_token_id is not None else (eos[0] if eos else 0)
    gen_config = GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=sampling.max_new_tokens,
                                  pad_token_id=pad, eos_token_id=eos or None)
    order = sorted(range(len(requests)), key=lambda i: len(requests[i].ids))
    batches = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    results: list[Generation | None] = [None] * len(requests)
    device = model.device
    with torch.no_grad():
        for batch in track(batches, "generate", enabled=progress):
            ids, mask, _ = pad_ids([requests[i].ids for i in batch], pad, side="left")
            processors = LogitsProcessorList(
                [SeededSampler([requests[i].seed for i in batch], sampling)] if sampling.do_sample else [])
            out = model.hf.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                    generation_config=gen_config, logits_processor=processors)
            new = out[:, ids.shape[1]:].tolist()
            for row, i in zip(new, batch, strict=True):
                results[i] = _finish(tok, row, eos)
    return [r for r in results if r is not None]


def _eos_ids(model: Any) -> list[int]:
    gen = getattr(model.hf, "generation_config", None)
    eos = getattr(gen, "eos_token_id", None) if gen is not None else None
    if eos is None:
        eos = model.tokenizer.eos_token_id
    if eos is None:
        return []
    return [int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])]


def _finish(tokenizer: Any, new: list[int], eos: Sequence[int]) -> Generation:
    stop = next((j for j, t in enumerate(new) if t in eos), None)
    kept = new if stop is None else new[:stop]
    return Generation(text=tokenizer.decode(kept, skip_special_tokens=True), n_tokens=len(kept),
                      finish_reason="length" if stop is None else "eos")


def _row(battery: Battery, columns: Sequence[str], req: Request, variant: str, gen: Generation
         ) -> dict[str, Any]:
    """One tidy row; every battery variable is a column (None where a template does not use it)."""
    p = req.prompt
    return {"battery": battery.name, "prompt_id": p.id, "template": p.template, "language": p.language,
            **{k: p.variables.get(k) for k in columns}, "variant": variant, "sample": req.sample,
            "seed": req.seed, "system": p.system, "prompt": p.text, "text": gen.text,
            "n_tokens": gen.n_tokens, "finish_reason": gen.finish_reason}
