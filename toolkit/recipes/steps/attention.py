"""`attention` step: which heads attend from the target slot to the group term?

For template rows where a token refers back to a group term (lab:gender_professions: the
pronoun slot after a profession; or texts marked `{{term}} ... [[target]]`), reads the
attention weight from the target to the term per layer x head (eager attention, switched
on only for this step), averages over items with bootstrap CIs, ranks heads, and, with
several variants, tells which heads changed against the first variant (paired bootstrap,
FDR-corrected). Writes attention.json/.csv, attention_items.csv, attention_heatmap.png
per variant and compare_<variant>.csv/.png (see docs/analysis/attention.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, data_param, param


@dataclass(frozen=True)
class AttentionParams:
    """Parameters of the `attention` step (see docs/analysis/attention.md)."""

    data: str = data_param(help="Template rows: lab:<name>, data/... or a file.")
    text: str = param("text", help="Column with the text (may mark {{term}} and [[target]]).")
    group: str | None = param("subject", help="Column with the group term (first occurrence).")
    target: str | None = param(None, help="Column with a word after the term whose last piece is "
                                          "the query (default: the text's last token, i.e. the "
                                          "position that predicts the slot).")
    append: str | None = param(None, help="Column whose word(s) are appended as the query, one "
                                          "item per word (lab: targets, giving she/he).")
    layers: str | int | tuple[int, ...] = param("all", help="all, a layer, a list, or '2-5'.")
    by: str | None = param(None, help="Also summarise per value of this column (language, "
                                      "gender, appended...).")
    variants: Any = param(None, help="Model variants: base, adapter or edit folders, {name, path}, a "
                                     "finetune step's name or ${finetune.adapters}; the first is "
                                     "the reference of the comparisons; default: the model as loaded.")
    n_boot: int = param(1000, help="Bootstrap resamples for the CIs.")
    alpha: float = param(0.05, help="False discovery rate under which a head counts as changed.")
    batch_size: int = param(16, help="Texts per forward pass.")
    where: dict[str, Any] | None = param(None, help="Keep rows whose column equals a value "
                                                    "(or one of a list), e.g. {language: en}.")
    limit: int | None = param(None, help="Use this many rows, drawn with the seed.")
    seed: int | None = param(None, help="Seed (default: the recipe's).")


def check(p: AttentionParams, _: CheckContext) -> None:
    """`target` and `append` exclude each other; counts are positive."""
    if p.target is not None and p.append is not None:
        raise ParamError("append", "give either `target` or `append`, not both")
    if p.batch_size < 1:
        raise ParamError("batch_size", "key 'batch_size': must be at least 1")
    if not 0 < p.alpha < 1:
        raise ParamError("alpha", "key 'alpha': must be between 0 and 1")


def run(ctx: StepContext, p: AttentionParams) -> dict[str, Any]:
    """Read attention per variant, summarise, compare; write the files into the step folder."""
    from biaskit.analysis.attention import attention_by_variant, attention_items
    from biaskit.models.variants import resolve_variants
    from biaskit.recipes.data import check_columns, load_rows

    rows = load_rows(p.data, preset=ctx.lab_preset, where=p.where, limit=p.limit, seed=ctx.seed)
    check_columns(rows, [p.text, p.target, p.append], p.data)
    model = ctx.model
    items = attention_items(model.tokenizer, rows, text=p.text, group=p.group, target=p.target,
                            append=p.append)
    variants = resolve_variants(ctx, p.variants)
    reports, comparisons = attention_by_variant(
        model, items, variants, layers=p.layers, by=p.by, n_boot=p.n_boot, seed=ctx.seed,
        alpha=p.alpha, batch_size=p.batch_size, progress=ctx.progress)
    multi = len(reports) > 1
    for name, report in reports.items():
        report.save(ctx.out / name if multi else ctx.out)
    for cmp in comparisons:
        cmp.save(ctx.out)
    first = next(iter(reports.values()))
    top = first.top_heads(1)[0]
    return {"top_layer": int(top["layer"]), "top_head": int(top["head"]), "top_weight": float(top["mean"]),
            "uniform": float(top["uniform"]), "n_items": len(items), "variants": list(reports),
            "changed_heads": {c.variant: len(c.changed()) for c in comparisons}}


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    changed = "; ".join(f"{k}: {v} heads changed" for k, v in out["changed_heads"].items())
    return (f"top head L{out['top_layer']}.H{out['top_head']}: {out['top_weight']:.2f} on the term "
            f"(uniform {out['uniform']:.2f}), {out['n_items']} items" + (f"; {changed}" if changed else ""))


STEP = StepType(
    kind="attention", params=AttentionParams, run=run, check=check, summary=summary,
    description="Attention from a target slot to the group term per layer x head (eager "
                "attention), ranked heads, and which heads changed between variants.",
    outputs={"top_layer": int, "top_head": int, "top_weight": float, "uniform": float,
             "n_items": int, "variants": list[str], "changed_heads": dict[str, int]},
)
