"""`evaluate` step: run evaluation suites on the model as it is at this point of the recipe.

Put one before an edit and one after it (named `before` and `after`); the `report` step
compares them item by item with a paired bootstrap.

With `variants:` (the base model, LoRA adapters, edits or erasures saved with `keep:
false`) the step instead scores each variant on the same suites, each applied alone to
the same base weights and taken off exactly afterwards, and writes a side-by-side table
(`comparison.csv` / `comparison.md`): every metric's value and 95% CI per variant, and
each variant's paired-bootstrap difference from the reference (`base`, else the first
variant) over the same items. That is a fair comparison of methods; measuring them one
after the other in a recipe would score each on top of the previous ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, data_param, param

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class EvaluateParams:
    """Parameters of the `evaluate` step (see docs/recipes.md)."""

    suites: tuple[str, ...] = param(help="Suites to run, e.g. [lab:gender_bias, lab:knowledge, "
                                         "perplexity].")
    data: dict[str, str] | None = data_param(None, help="Data per suite, e.g. {templates: "
                                                        "data/templates/es.jsonl}; default: the "
                                                        "suite's own.")
    options: dict[str, dict[str, Any]] | None = param(None, help="Options per suite, passed to it "
                                                                 "as keyword arguments.")
    limit: int | None = param(None, help="Items per suite, for suites that take a limit (a quick "
                                         "run); null: all.")
    seed: int | None = param(None, help="Seed of the bootstrap (default: the recipe's).")
    variants: Any = param(None, help="Model variants scored side by side: base, adapter or edit "
                                     "folders, {name, path}, the name of a finetune step or of an "
                                     "edit/erase step run with keep: false, or ${finetune.adapters}; "
                                     "null: the model as it is.")


def check(p: EvaluateParams, _: CheckContext) -> None:
    """Suite names exist; data/options only name suites of this step."""
    if not p.suites:
        raise ParamError("suites", "key 'suites': name at least one suite")
    known = _known_suites()
    if known is not None:
        from biaskit.configs import suggest

        for i, s in enumerate(p.suites):
            if s not in known:
                raise ParamError(f"suites.{i}",
                                 f"key 'suites': unknown suite {s!r}{suggest(s, known)}; suites: "
                                 f"{', '.join(known)}")
    for key in ("data", "options"):
        for s in (getattr(p, key) or {}):
            if s not in p.suites:
                raise ParamError(key, f"key '{key}': {s!r} is not one of this step's suites")


def _known_suites() -> list[str] | None:
    """Registered suite names, or None while the evaluation package is not available."""
    try:
        from biaskit.eval import SUITES
    except ImportError:
        return None
    return list(SUITES.names()) if hasattr(SUITES, "names") else sorted(SUITES)


def suite_dir(suite: str) -> str:
    """Folder name of a suite's results (`lab:gender_bias` -> `lab_gender_bias`)."""
    return suite.replace(":", "_").replace("/", "_")


def run(ctx: StepContext, p: EvaluateParams) -> dict[str, Any]:
    """Run each suite; writes <suite>/scores.json + items.csv, and metrics.json (all suites).

    With `variants`, each variant's scores go to `<variant>/<suite>/`, metrics.json gets a
    `variant` column, and the comparison files are written (see the module docstring).
    """
    from biaskit.io import write_csv, write_json

    if p.variants is None:
        rows: list[dict[str, Any]] = []
        for suite in p.suites:
            scores = _run_one(ctx, p, suite, ctx.model)
            scores.save(ctx.out / suite_dir(suite))
            rows.extend(_finite(r) for r in scores.rows())
        write_json(ctx.out / METRICS_FILE, rows)
        write_csv(ctx.out / "metrics.csv", rows)
        return {"suites": list(p.suites), "metrics": rows, "variants": [], "comparison": []}
    return _run_variants(ctx, p)


def _run_one(ctx: StepContext, p: EvaluateParams, suite: str, model: Any) -> Any:
    """One suite on `model` with the step's data, options, limit and seed."""
    from biaskit.eval import run_suite

    opts = dict((p.options or {}).get(suite, {}))
    if p.limit is not None and "limit" not in opts:
        if _accepts(suite, "limit"):
            opts["limit"] = p.limit
        else:
            logger.warning("suite %s has no `limit` option: it runs on all its items", suite)
    if _accepts(suite, "seed"):
        opts.setdefault("seed", ctx.seed)
    return run_suite(suite, model, (p.data or {}).get(suite), **opts)


def _run_variants(ctx: StepContext, p: EvaluateParams) -> dict[str, Any]:
    """Every suite on every variant (applied alone, restored exactly), then the comparison."""
    from biaskit.editors.lora import group_folder
    from biaskit.errors import ModelError
    from biaskit.io import atomic_write, write_csv, write_json
    from biaskit.models.variants import BASE, apply_variant, resolve_variants

    variants = resolve_variants(ctx, p.variants)
    model = ctx.model
    start = model.fingerprint()
    scores: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for variant in variants:
        logger.info("evaluate: variant %s (%s)", variant.name, variant.kind)
        with apply_variant(model, variant) as applied:
            for suite in p.suites:
                got = _run_one(ctx, p, suite, applied)
                got.save(ctx.out / group_folder(variant.name) / suite_dir(suite))
                scores.setdefault(variant.name, {})[suite] = got
                rows.extend({"variant": variant.name, **_finite(r)} for r in got.rows())
    if model.fingerprint() != start:
        raise ModelError("evaluate: the weights differ from before the variants were applied")
    names = [v.name for v in variants]
    reference = BASE if BASE in names else names[0]
    compared = comparison_rows(scores, p.suites, names, reference, seed=ctx.seed)
    write_json(ctx.out / METRICS_FILE, rows)
    write_csv(ctx.out / "metrics.csv", rows)
    write_json(ctx.out / "comparison.json", compared)
    write_csv(ctx.out / "comparison.csv", comparison_wide(compared, names, reference))
    text = comparison_markdown(compared, names, reference)
    atomic_write(ctx.out / "comparison.md", lambda fh: fh.write(text))
    return {"suites": list(p.suites), "metrics": rows, "variants": names, "comparison": compared}


def comparison_rows(scores: dict[str, dict[str, Any]], suites: Sequence[str], names: Sequence[str],
                    reference: str, *, seed: int = 0) -> list[dict[str, Any]]:
    """Tidy rows, one per suite x metric (x groups) x variant, with the difference from `reference`.

    The difference is `biaskit.eval.compare(reference, variant)`: paired bootstrap over the
    items both scored (same `item_id`), so its CI is narrower than the two CIs side by
    side suggest when the variants move the same items. The reference's own rows have
    null differences. Non-finite numbers are written as null (JSON has no NaN).
    """
    from biaskit.eval import compare

    out: list[dict[str, Any]] = []
    for suite in suites:
        ref = scores[reference][suite]
        diffs = {n: {d.label: d for d in compare(ref, scores[n][suite], seed=seed).differences}
                 for n in names if n != reference}
        by_label = {n: {m.label: m for m in scores[n][suite].metrics} for n in names}
        keys: dict[str, Any] = {}
        for n in names:
            for label, m in by_label[n].items():
                keys.setdefault(label, m)
        for label, first in keys.items():
            for n in names:
                m = by_label[n].get(label)
                d = diffs.get(n, {}).get(label)
                out.append(_finite({
                    "suite": suite, "metric": first.name, "groups": _group_text(first.groups),
                    **dict(first.groups), "variant": n, "reference": reference,
                    "value": m.value if m else None, "ci_low": m.ci_low if m else None,
                    "ci_high": m.ci_high if m else None, "n": m.n if m else None,
                    "diff": d.diff if d else None, "diff_ci_low": d.ci_low if d else None,
                    "diff_ci_high": d.ci_high if d else None, "p_value": d.p_value if d else None,
                    "n_shared": d.n_shared if d else None}))
    return out


def comparison_wide(rows: Sequence[dict[str, Any]], names: Sequence[str], reference: str
                    ) -> list[dict[str, Any]]:
    """One row per suite x metric (x groups), columns per variant: the side-by-side table.

    For each variant `v`: `v` ("value [ci_low, ci_high]", as read), `v_value`, `v_ci_low`,
    `v_ci_high`; for each other than the reference also `v - <reference>` (formatted
    difference and CI), `v_diff`, `v_diff_ci_low`, `v_diff_ci_high` and `v_p_value`.
    """
    table: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["suite"], r["metric"], r["groups"])
        line = table.setdefault(key, {"suite": r["suite"], "metric": r["metric"], "groups": r["groups"]})
        v = r["variant"]
        line[v] = _with_ci(r["value"], r["ci_low"], r["ci_high"])
        line.update({f"{v}_value": r["value"], f"{v}_ci_low": r["ci_low"], f"{v}_ci_high": r["ci_high"]})
        if v != reference:
            line[f"{v} - {reference}"] = _with_ci(r["diff"], r["diff_ci_low"], r["diff_ci_high"], sign=True)
            line.update({f"{v}_diff": r["diff"], f"{v}_diff_ci_low": r["diff_ci_low"],
                         f"{v}_diff_ci_high": r["diff_ci_high"], f"{v}_p_value": r["p_value"]})
    return list(table.values())


def comparison_markdown(rows: Sequence[dict[str, Any]], names: Sequence[str], reference: str) -> str:
    """`comparison.md`: one table per suite, a column per variant and per difference."""
    others = [n for n in names if n != reference]
    lines = ["# Variants side by side", "",
             f"Each cell: value [95% bootstrap CI]. `v - {reference}`: paired bootstrap difference "
             f"from `{reference}` over the same items [95% CI], with its p-value; * marks a CI "
             "that excludes 0.", ""]
    wide = comparison_wide(rows, names, reference)
    for suite in dict.fromkeys(r["suite"] for r in wide):
        head = ["metric", *names, *(c for n in others for c in (f"{n} - {reference}", "p"))]
        lines += [f"## {suite}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in (w for w in wide if w["suite"] == suite):
            label = r["metric"] + (f" ({r['groups']})" if r["groups"] else "")
            cells = [label, *(r.get(n, "") for n in names)]
            for n in others:
                lo, hi = r.get(f"{n}_diff_ci_low"), r.get(f"{n}_diff_ci_high")
                star = " *" if lo is not None and hi is not None and (lo > 0 or hi < 0) else ""
                cells += [r.get(f"{n} - {reference}", "") + star, _p_text(r.get(f"{n}_p_value"))]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _group_text(groups: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in groups)


def _num_text(x: float, sign: bool = False) -> str:
    if abs(x) >= 1000:
        return f"{x:+.4g}" if sign else f"{x:.4g}"
    return f"{x:+.3f}" if sign else f"{x:.3f}"


def _with_ci(value: float | None, lo: float | None, hi: float | None, sign: bool = False) -> str:
    """`0.250 [0.201, 0.302]` (or `0.250` when the CI is undefined, `` when there is no value)."""
    if value is None:
        return ""
    if lo is None or hi is None:
        return _num_text(value, sign)
    return f"{_num_text(value, sign)} [{_num_text(lo, sign)}, {_num_text(hi, sign)}]"


def _p_text(p: float | None) -> str:
    if p is None:
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _accepts(suite: str, option: str) -> bool:
    """Whether a suite's run function takes `option` (so the recipe's seed reaches it)."""
    import inspect

    from biaskit.eval import SUITES

    params = inspect.signature(SUITES.get(suite).function()).parameters
    return option in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    import math

    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    line = f"{len(out['metrics'])} metrics from {', '.join(out['suites'])}"
    if out.get("variants"):
        line += f" on {len(out['variants'])} variants ({', '.join(out['variants'])})"
    return line


STEP = StepType(
    kind="evaluate", params=EvaluateParams, run=run, check=check, summary=summary,
    description="Run evaluation suites (bias, knowledge, perplexity) with bootstrap CIs, on the "
                "model or side by side on variants.",
    outputs={"suites": list[str], "metrics": list[dict[str, Any]], "variants": list[str],
             "comparison": list[dict[str, Any]]},
)
