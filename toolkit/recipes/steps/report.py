"""`report` step: report.md and a self-contained report.html about the whole run.

Written for a reader who is not an ML engineer (see `biaskit.recipes.report_sections`):
what was looked for, where it was found, what was changed, the before/after table with
95% bootstrap intervals and significance, what was preserved, and the command that
reproduces it all. The same before/after table is printed on the console.
"""

from __future__ import annotations

import logging
import math
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, param, step_param

log = logging.getLogger(__name__)

PLOT_FILE = "before_after.png"


@dataclass(frozen=True)
class ReportParams:
    """Parameters of the `report` step (see docs/recipes.md)."""

    compare: tuple[str, str] | None = step_param(("evaluate",), None, help="Two evaluate steps "
                                                 "[before, after]; default: the first and last "
                                                 "evaluate steps when there are two or more.")
    title: str | None = param(None, help="Report title (default: from the recipe's name).")
    n_boot: int = param(1000, help="Bootstrap resamples for the before/after intervals.")
    console: bool = param(True, help="Print the before/after table on the console.")
    seed: int | None = param(None, help="Seed of the bootstrap (default: the recipe's).")


def check(p: ReportParams, _: CheckContext) -> None:
    """`compare` names two different steps."""
    if p.compare is not None and p.compare[0] == p.compare[1]:
        raise ParamError("compare", "key 'compare': give two different evaluate steps")
    if p.n_boot < 100:
        raise ParamError("n_boot", "key 'n_boot': use at least 100 resamples")


def run(ctx: StepContext, p: ReportParams) -> dict[str, Any]:
    """Collect every earlier step into report.md, report.html and comparison.csv/json."""
    from biaskit.io import atomic_write, read_json, write_csv, write_json
    from biaskit.recipes import report_analysis, report_changes
    from biaskit.recipes import report_sections as sec
    from biaskit.recipes.document import Bullets, Document, Heading, Para

    recipe = ctx.recipe
    doc = Document(p.title or f"biaskit report: {recipe['name']}")
    if recipe.get("description"):
        doc.add(Para(recipe["description"]))
    doc.add(Para(f"Model: `{recipe['model']['id']}`. Each section below corresponds to one step of "
                 f"the recipe; every number comes from the files in that step's folder.", "note"))
    pair = _pair(p, ctx)
    compared = {s for s in pair} if pair else set()
    rows: list[dict[str, Any]] = []
    for name in ctx.earlier():
        kind = ctx.kind(name)
        if kind != "evaluate" or name not in compared:
            _guarded(doc, f"step `{name}` ({kind})", lambda name=name: _section(ctx, doc, name))
        if pair and name == pair[1]:
            def compare(pair: tuple[str, str] = pair) -> None:
                rows.extend(compare_steps(ctx, pair[0], pair[1], p.n_boot, ctx.seed))
                plot = _plot(sec.headline(rows)[0], ctx.out / PLOT_FILE) if rows else None
                sec.comparison_section(doc, pair[0], pair[1], rows, plot)

            _guarded(doc, f"the comparison of `{pair[0]}` and `{pair[1]}`", compare)
    command = _command(ctx)
    manifest_path = ctx.run_dir / "manifest.json"
    manifest = read_json(manifest_path) if manifest_path.exists() else None
    sec.reproduce_section(doc, manifest, recipe, command)
    kinds = [ctx.kind(n) for n in ctx.earlier()]
    doc.add(Heading("Glossary"), Bullets(sec.GLOSSARY + report_analysis.glossary(kinds)
                                         + report_changes.glossary(kinds)))
    atomic_write(ctx.out / "report.md", lambda fh: fh.write(doc.markdown(ctx.out)))
    atomic_write(ctx.out / "report.html", lambda fh: fh.write(doc.html()))
    if rows:
        write_csv(ctx.out / "comparison.csv", rows)
        write_json(ctx.out / "comparison.json", rows)
        if p.console:
            _print(rows, pair)
    return {"files": ["report.md", "report.html"], "compared": list(pair) if pair else None,
            "comparison": rows, "n_significant": sum(1 for r in rows if r["significant"]),
            "command": command}


def _section(ctx: StepContext, doc: Any, name: str) -> None:
    """The section of one earlier step (nothing for kinds the report does not describe)."""
    from biaskit.recipes import report_analysis as ana
    from biaskit.recipes import report_changes as chg
    from biaskit.recipes import report_sections as sec

    kind, out, params, d = ctx.kind(name), ctx.outputs(name), ctx.params_of(name), ctx.step_dir(name)
    simple = {"probe": sec.probe_section, "trace": sec.trace_section, "embed": ana.embed_section,
              "stylometry": ana.stylometry_section, "attention": ana.attention_section,
              "generate": ana.generate_section, "erase": chg.erase_section}
    if kind in simple:
        simple[kind](doc, name, d, params, out)
    elif kind == "locate":
        sec.locate_section(doc, name, d, out, _truth_note(ctx, out))
    elif kind == "edit":
        sec.edit_section(doc, name, out)
    elif kind == "verify":
        sec.verify_section(doc, name, d, out)
    elif kind == "evaluate":
        sec.metrics_section(doc, name, out)
    elif kind == "finetune":
        chg.finetune_section(doc, name, d, params, out, ctx.out / f"{name}_loss.png")
    elif kind == "steer":
        chg.steer_section(doc, name, params, out, _steer_probe(ctx, out), _around(ctx, name))


def _guarded(doc: Any, what: str, write: Any) -> None:
    """Run `write()`, one part of the report; if its files cannot be read, say so instead.

    A run folder is the user's: files get moved, cleaned or hand-edited, and one unreadable
    step must not cost the reader the rest of the report.
    """
    from biaskit.errors import BiaskitError
    from biaskit.recipes.document import Para, plain

    try:
        write()
    except (OSError, KeyError, ValueError, TypeError, IndexError, BiaskitError) as exc:
        log.warning("report: %s is incomplete: %s", plain(what), exc)
        reason = (f"`{Path(exc.filename).name}` is missing" if isinstance(exc, FileNotFoundError)
                  and exc.filename else f"{type(exc).__name__}: {exc}")
        doc.add(Para(f"The section of {what} is incomplete: its files could not be read "
                     f"({reason}).", "bad"))


def _steer_probe(ctx: StepContext, out: dict[str, Any]) -> dict[str, Any] | None:
    """The probe a steering direction came from: its accuracy at the steered layer."""
    from biaskit.io import read_json

    parts = str(out.get("source", "")).split(":")
    step = parts[1] if parts[0] == "probe" and len(parts) > 1 else None
    path = ctx.step_dir(step) / "probe.json" if step else None
    if step is None or path is None or not path.exists():
        return None
    records = [r for r in read_json(path).get("records", []) if r.get("layer") == out["layer"]]
    same = [r for r in records if r.get("site") == out.get("site")] or records
    if not same:
        return None
    return {"step": step, "accuracy": same[0].get("accuracy"),
            "baseline": ctx.outputs(step).get("baseline")}


def _around(ctx: StepContext, name: str) -> tuple[list[str], list[str]]:
    """Evaluate steps before and after step `name`, in run order."""
    names = ctx.earlier()
    i = names.index(name)
    return ([n for n in names[:i] if ctx.kind(n) == "evaluate"],
            [n for n in names[i + 1:] if ctx.kind(n) == "evaluate"])


def _pair(p: ReportParams, ctx: StepContext) -> tuple[str, str] | None:
    if p.compare is not None:
        return p.compare
    evals = ctx.earlier("evaluate")
    return (evals[0], evals[-1]) if len(evals) >= 2 else None


def compare_steps(ctx: StepContext, before: str, after: str, n_boot: int, seed: int) -> list[dict[str, Any]]:
    """Paired before/after differences of every metric of every suite both steps ran."""
    from biaskit.eval import Scores, compare
    from biaskit.recipes.steps.evaluate import suite_dir

    rows: list[dict[str, Any]] = []
    for suite in ctx.outputs(before)["suites"]:
        if suite not in ctx.outputs(after)["suites"]:
            continue
        b = Scores.load(ctx.step_dir(before) / suite_dir(suite))
        a = Scores.load(ctx.step_dir(after) / suite_dir(suite))
        b_by_key = {m.key: m for m in b.metrics}
        a_by_key = {m.key: m for m in a.metrics}
        for d in compare(b, a, n_boot=n_boot, seed=seed).differences:
            mb, ma = b_by_key[(d.name, d.groups)], a_by_key[(d.name, d.groups)]
            significant = bool(_finite(d.ci_low) and _finite(d.ci_high) and (d.ci_low > 0 or d.ci_high < 0))
            rows.append(_clean({
                "suite": suite, "metric": d.name, "groups": dict(d.groups), "label": d.label,
                "before": d.before, "before_ci_low": mb.ci_low, "before_ci_high": mb.ci_high,
                "after": d.after, "after_ci_low": ma.ci_low, "after_ci_high": ma.ci_high,
                "diff": d.diff, "ci_low": d.ci_low, "ci_high": d.ci_high, "p_value": d.p_value,
                "n_shared": d.n_shared, "significant": significant}))
    return rows


def _truth_note(ctx: StepContext, out: dict[str, Any]) -> str | None:
    """For the lab model: where its own build measured that recall happens, for comparison.

    The lab build records `expected_layers` in truth.json when it knows where associations
    are stored, and otherwise MLP knockouts at the subject's last token per fact group in
    metrics.json; either is independent evidence for the located layer.
    """
    if ctx.lab_preset != ctx.recipe["model"]["id"]:
        return None
    try:
        from biaskit.io import read_json
        from biaskit.lab import lab_path

        root = Path(lab_path(ctx.lab_preset))
        truth, metrics = read_json(root / "truth.json"), read_json(root / "metrics.json")
    except Exception:  # noqa: BLE001 - the note is optional; it must never fail the report
        return None
    expected = truth.get("expected_layers")
    if expected:
        verdict = "**matches**" if out["layer"] in expected else "**does not match**"
        return (f"Ground truth: the lab model was built so that its associations are stored at "
                f"layer(s) {expected}; the located layer {out['layer']} {verdict}.")
    best: dict[str, tuple[int, float]] = {}
    for row in metrics.get("knockout", []):
        drop = row.get("subject_drop") or 0.0
        if drop > best.get(row["facts"], (0, 0.0))[1]:
            best[row["facts"]] = (row["layer"], drop)
    if not best:
        return None
    parts = ", ".join(f"{group} facts at layer {layer}" for group, (layer, _) in best.items())
    return ("For comparison, the lab build's own measurement (switching off one layer's MLP at "
            f"the subject's last word) finds recall depends most on: {parts}.")


def _command(ctx: StepContext) -> str:
    recipe = ctx.recipe
    if recipe.get("command"):
        return recipe["command"]
    parts = ["biaskit", "run", recipe["path"]]
    for o in recipe.get("overrides", []):
        parts += ["--set", o]
    return " ".join(shlex.quote(x) for x in parts)


def _plot(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Before/after dot plot with 95% intervals, one row per measure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from biaskit.io import atomic_path

    shown = [r for r in rows if _finite(r["before"]) and _finite(r["after"])][:30]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(shown) + 1.2))
    for i, r in enumerate(shown):
        y = len(shown) - 1 - i
        for key, color, dy in (("before", "0.55", 0.12), ("after", "tab:blue", -0.12)):
            lo, hi = r[f"{key}_ci_low"], r[f"{key}_ci_high"]
            err = ([[r[key] - lo], [hi - r[key]]] if _finite(lo) and _finite(hi) else None)
            ax.errorbar(r[key], y + dy, xerr=err, fmt="o", color=color, capsize=3,
                        label=key if i == 0 else None)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([f"{r['suite']}: {r['label']}" for r in reversed(shown)], fontsize=8)
    ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Before and after (95% CIs)", fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _print(rows: list[dict[str, Any]], pair: tuple[str, str] | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from biaskit.recipes.document import fmt, fmt_ci
    from biaskit.recipes.report_sections import headline

    shown, summaries = headline(rows)
    table = Table(title=f"before ({pair[0]}) vs after ({pair[1]})" if pair else "before vs after",
                  title_justify="left")
    for i, h in enumerate(("suite", "measure", "before", "after", "change [95% CI]", "p", "signif.")):
        table.add_column(h, justify="right" if 2 <= i <= 5 else "left")
    for r in shown:
        table.add_row(r["suite"], r["label"], fmt(r["before"]), fmt(r["after"]),
                      f"{fmt(r['diff'])} {fmt_ci(r['ci_low'], r['ci_high'])}", fmt(r["p_value"], 2),
                      "yes" if r["significant"] else "no", style="bold" if r["significant"] else None)
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(table)
    for m in summaries:
        console.print(f"{m['suite']} {m['metric']}: {m['n']} groups, {m['significant']} changed "
                      f"significantly, {m['toward_zero']} closer to zero (mean |value| "
                      f"{m['abs_before']:.3g} -> {m['abs_after']:.3g}); all rows in comparison.csv")


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    if out["compared"]:
        large = sum(1 for r in out["comparison"] if r["significant"] and _large(r))
        return (f"report.md, report.html; {out['n_significant']} of {len(out['comparison'])} "
                f"measures (every group counted) changed significantly, {large} of them by "
                f"{LARGE_CHANGE:.0%} or more of their value before")
    return "report.md, report.html"


# A change this large relative to the value before is worth a reader's attention; paired
# bootstrap intervals make far smaller changes significant (a gap of 0.253 -> 0.251).
LARGE_CHANGE = 0.10


def _large(row: dict[str, Any]) -> bool:
    before, diff = row.get("before"), row.get("diff")
    if not (_finite(before) and _finite(diff)):
        return False
    return abs(diff) >= LARGE_CHANGE * abs(before) if before else diff != 0


STEP = StepType(
    kind="report", params=ReportParams, run=run, check=check, summary=summary, needs_model=False,
    description="Write report.md and a self-contained report.html that a non-specialist can read.",
    outputs={"files": list[str], "compared": list[str] | None, "comparison": list[dict[str, Any]],
             "n_significant": int, "command": str},
)
