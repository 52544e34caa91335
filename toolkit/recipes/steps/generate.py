"""`generate` step: run a prompt battery over the model and its variants.

Expands a battery (templates x variables x languages, YAML or JSONL), generates every
prompt x variant x sample with per-sample seeds that do not depend on batching, and writes
generations.jsonl and generations.csv (one row per prompt x variant x sample with every
variable) and generate.json (the sampling parameters). A later `stylometry` step reads
them (`from: <this step>`). See docs/prompting.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, data_param, param

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateParams:
    """Parameters of the `generate` step (see docs/prompting.md)."""

    battery: str = data_param(help="Battery file (.yaml or .jsonl), e.g. "
                                   "data/batteries/survey_personas.yaml.")
    variants: Any = param(None, help="Model variants: base, adapter or edit folders, {name, path}, a "
                                     "finetune step's name or ${finetune.adapters}; default: the "
                                     "model as loaded.")
    repeats: int | None = param(None, help="Samples per prompt and variant (default: the battery's).")
    do_sample: bool = param(True, help="Sample (true) or decode greedily (false).")
    temperature: float = param(0.8, help="Softmax temperature (> 0).")
    top_p: float = param(0.95, help="Nucleus sampling mass (1.0: off).")
    top_k: int = param(0, help="Keep the k most likely tokens (0: off).")
    max_new_tokens: int = param(48, help="Tokens generated at most per sample.")
    chat: str = param("auto", help="auto (chat template when the tokenizer has one), always, never, "
                                     "plain (User:/Assistant: lines, as LoRA fine-tunes without a "
                                     "chat template are trained).")
    backend: str = param("transformers", help="transformers (batched generate) or vllm "
                                              "(pip install 'biaskit[vllm]', GPU; untested in CI).")
    batch_size: int = param(16, help="Sequences per generate call (transformers backend).")
    vllm: dict[str, Any] | None = param(None, help="Extra arguments for vllm.LLM "
                                                   "(e.g. {gpu_memory_utilization: 0.8}).")
    where: dict[str, Any] | None = param(None, help="Keep prompts whose variable, language or "
                                                    "template equals a value (or one of a list).")
    limit: int | None = param(None, help="Use this many prompts, drawn with the seed.")
    seed: int | None = param(None, help="Seed of the samples (default: the recipe's).")


def check(p: GenerateParams, _: CheckContext) -> None:
    """Known backend and chat mode; a battery file, not a lab/hf dataset; valid sampling."""
    from biaskit.errors import ConfigError
    from biaskit.prompting.generate import BACKENDS, CHAT_MODES
    from biaskit.prompting.sampling import SamplingConfig

    if p.backend not in BACKENDS:
        raise ParamError("backend", f"key 'backend': use {' or '.join(BACKENDS)}, not {p.backend!r}")
    if p.chat not in CHAT_MODES:
        raise ParamError("chat", f"key 'chat': use {', '.join(CHAT_MODES)}, not {p.chat!r}")
    if p.battery.startswith(("lab:", "hf:")):
        raise ParamError("battery", "key 'battery': a .yaml or .jsonl battery file")
    if p.batch_size < 1:
        raise ParamError("batch_size", "key 'batch_size': must be at least 1")
    if p.repeats is not None and p.repeats < 1:
        raise ParamError("repeats", "key 'repeats': must be at least 1")
    try:
        SamplingConfig(do_sample=p.do_sample, temperature=p.temperature, top_p=p.top_p,
                       top_k=p.top_k, max_new_tokens=p.max_new_tokens)
    except ConfigError as exc:
        raise ParamError(None, str(exc)) from None


def run(ctx: StepContext, p: GenerateParams) -> dict[str, Any]:
    """Generate the battery; write generations.jsonl/.csv and generate.json."""
    from biaskit.models.variants import resolve_variants
    from biaskit.prompting.battery import Battery, load_battery
    from biaskit.prompting.generate import run_battery
    from biaskit.prompting.sampling import SamplingConfig
    from biaskit.recipes.data import filter_rows, subsample

    battery = load_battery(p.battery, repeats=p.repeats)
    if p.where or p.limit is not None:
        index = [{"_i": i, "language": q.language, "template": q.template, **q.variables}
                 for i, q in enumerate(battery.prompts)]
        kept = filter_rows(index, p.where, p.battery) if p.where else index
        if p.limit is not None:
            kept = subsample(kept, p.limit, ctx.seed)
        battery = Battery(battery.name, tuple(battery.prompts[r["_i"]] for r in kept), battery.repeats,
                          battery.source, battery.description)
        if not battery.prompts:
            from biaskit.errors import DataError

            raise DataError(f"{p.battery}: no prompt left after where: {dict(p.where or {})}")
    sampling = SamplingConfig(do_sample=p.do_sample, temperature=p.temperature, top_p=p.top_p,
                              top_k=p.top_k, max_new_tokens=p.max_new_tokens, seed=ctx.seed)
    variants = resolve_variants(ctx, p.variants)
    if p.backend == "vllm":
        mutated = [n for n in ctx.earlier() if ctx.kind(n) in ("edit", "erase")]
        if mutated:
            logger.warning("generate: vLLM loads the weights from disk; the in-process changes of "
                           "step(s) %s are not in its outputs", ", ".join(mutated))
        model: Any = ctx.recipe["model"]["id"]
    else:
        model = ctx.model
    result = run_battery(model, battery, variants, sampling=sampling, backend=p.backend,
                         batch_size=p.batch_size, chat=p.chat, progress=ctx.progress,
                         vllm_args=p.vllm)
    result.save(ctx.out)
    n_tokens = [r["n_tokens"] for r in result.rows]
    return {"n_rows": len(result.rows), "n_prompts": len(battery.prompts),
            "repeats": int(result.config["repeats"]), "variants": [v.name for v in variants],
            "mean_tokens": sum(n_tokens) / len(n_tokens),
            "file": str(ctx.run_dir / ctx.name / "generations.jsonl")}


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    return (f"{out['n_rows']} generations ({out['n_prompts']} prompts x {len(out['variants'])} "
            f"variants x {out['repeats']} samples), {out['mean_tokens']:.1f} tokens on average")


STEP = StepType(
    kind="generate", params=GenerateParams, run=run, check=check, summary=summary,
    description="Run a prompt battery (templates x variables x languages) over the model and "
                "its variants with fixed seeds; tidy generations for stylometry.",
    outputs={"n_rows": int, "n_prompts": int, "repeats": int, "variants": list[str],
             "mean_tokens": float, "file": str},
)
