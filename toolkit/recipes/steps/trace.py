"""`trace` step: where does the model compute the prediction (or the bias gap)? (causal tracing)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, data_param, param

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TraceParams:
    """Parameters of the `trace` step (see docs/recipes.md)."""

    data: str = data_param(help="Prompts with a subject column: lab:<name>, data/... or a file.")
    text: str = param("text", help="Column with the prompt (it ends where the target follows).")
    subject: str = param("subject", help="Column with the subject to corrupt.")
    group: str | None = param("auto", help="Column with each subject's identity across phrasings "
                                           "(effects are oriented by the other prompts of the "
                                           "group); auto: subject_id if present, else the subject.")
    target: str | None = param(None, help="Column with the target continuation to trace.")
    contrast: tuple[str, str] | None = param(None, help="Two targets [a, b]: trace P(a) - P(b). Rows "
                                                        "with a `targets` column are kept only "
                                                        "where it equals this pair.")
    contrast_column: str | None = param(None, help="Column holding an [a, b] pair per row "
                                                   "(default when neither target nor contrast is "
                                                   "given: `targets`).")
    limit: int | None = param(24, help="Trace this many prompts, drawn with the seed (null: all).")
    samples: int = param(10, help="Noise samples per restoration.")
    noise: float = param(3.0, help="Noise, in embedding standard deviations.")
    window: int | None = param(None, help="Layers restored together for mlp/attn "
                                          "(default: depth // 5, 1 to 10).")
    sites: tuple[str, ...] = param(("resid", "mlp", "attn"), help="Sites to restore.")
    where: dict[str, Any] | None = param(None, help="Row filter, e.g. {language: en}.")
    seed: int | None = param(None, help="Seed of the noise and the subsample (default: the recipe's).")


def check(p: TraceParams, _: CheckContext) -> None:
    """At most one of target, contrast and contrast_column."""
    given = [k for k in ("target", "contrast", "contrast_column") if getattr(p, k) is not None]
    if len(given) > 1:
        raise ParamError(given[1], f"give only one of target, contrast and contrast_column "
                                   f"(got {', '.join(given)})")


def run(ctx: StepContext, p: TraceParams) -> dict[str, Any]:
    """Trace the prompts; writes trace.json/.csv, trace_tokens.csv and heatmaps."""
    from biaskit.errors import DataError
    from biaskit.probes.tracing import TraceConfig, trace
    from biaskit.recipes.data import check_columns, load_rows, subsample

    rows = load_rows(p.data, preset=ctx.lab_preset, where=p.where, seed=ctx.seed)
    contrast_column = p.contrast_column
    if p.target is None and p.contrast is None and contrast_column is None:
        contrast_column = "targets"
    if p.contrast is not None and "targets" in rows[0]:
        before = len(rows)
        rows = [r for r in rows if [str(t) for t in _pair(r["targets"])] == list(p.contrast)]
        if not rows:
            raise DataError(f"{p.data}: no row has targets {list(p.contrast)}")
        logger.info("trace: %d of %d rows have targets %s", len(rows), before, list(p.contrast))
    check_columns(rows, [p.text, p.subject, p.target, contrast_column], p.data)
    if p.limit is not None and p.limit < len(rows):
        rows = subsample(rows, p.limit, ctx.seed)
    kwargs: dict[str, Any] = {}
    if p.target is not None:
        kwargs["target"] = [str(r[p.target]) for r in rows]
    elif p.contrast is not None:
        kwargs["contrast"] = list(p.contrast)
    else:
        kwargs["contrast"] = [_pair(r[contrast_column]) for r in rows]
    cfg = TraceConfig(sites=p.sites, noise=p.noise, samples=p.samples, window=p.window, seed=ctx.seed)
    group = ("subject_id" if "subject_id" in rows[0] else None) if p.group == "auto" else p.group
    if group is not None:
        check_columns(rows, [group], p.data)
    report = trace(ctx.model, [str(r[p.text]) for r in rows], subject=[str(r[p.subject]) for r in rows],
                   groups=[str(r[group]) for r in rows] if group else None,
                   config=cfg, progress=ctx.progress, **kwargs)
    report.save(ctx.out)
    summary_ = report.summary()
    peak = summary_["peaks"].get("mlp_out") or next(iter(summary_["peaks"].values()))
    return {"peak_layer": int(peak["layer"]), "peak_effect": float(peak["aie"]),
            "clean": float(summary_["clean"]), "corrupted": float(summary_["corrupted"]),
            "n_prompts": len(rows), "contrast": bool(report.contrast)}


def _pair(value: Any) -> list[str]:
    from biaskit.errors import DataError

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = value.split(",")
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DataError(f"a contrast value must be a pair [a, b], got {value!r}")
    return [str(v) for v in value]


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    return (f"MLP effect peaks at layer {out['peak_layer']} ({out['peak_effect']:.3g}); "
            f"{out['n_prompts']} prompts")


STEP = StepType(
    kind="trace", params=TraceParams, run=run, check=check, summary=summary,
    description="Causal tracing: which layers does the model use to produce the prediction or gap?",
    outputs={"peak_layer": int, "peak_effect": float, "clean": float, "corrupted": float,
             "n_prompts": int, "contrast": bool},
)
