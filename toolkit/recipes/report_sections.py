"""The sections of a run report, written for a reader who is not an ML engineer.

Each function reads one earlier step's files from the run folder and adds plain-language
blocks to the document: what was looked for, where it was found, what was changed, the
before/after table with confidence intervals, what was preserved, and how to reproduce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from biaskit.io import read_json
from biaskit.recipes.document import Bullets, Code, Document, Heading, Image, Para, Table, fmt, fmt_ci

PRESERVED_SUITES = ("perplexity", "knowledge", "lab:knowledge")
PRESERVED_HINTS = ("locality", "perplexity", "fluency", "knowledge", "accuracy", "neighbourhood")


def probe_section(doc: Document, name: str, step_dir: Path, params: dict[str, Any],
                  out: dict[str, Any]) -> None:
    """What was looked for (probe): can the feature be read out of each layer?"""
    info = read_json(step_dir / "probe.json")
    label, classes = info["label"], ", ".join(map(str, info["classes"]))
    doc.add(Heading(f"What was looked for: is *{label}* represented inside the model? (step `{name}`)"),
            Para(f"We took {out['n']} sentences from `{params.get('data')}` and, at every layer of the "
                 f"model, trained a simple linear classifier (a *probe*) to tell **{label}** "
                 f"({classes}) from the model's internal state. If the probe does much better than "
                 f"always guessing the most common answer (here {fmt(out['baseline'])}), the model "
                 "carries that information at that layer. A *control task* gives the same probe "
                 "random labels tied to each word; *selectivity* (accuracy minus control accuracy) "
                 "is the part of the success that is not word memorisation."))
    sel = out.get("selectivity")
    doc.add(Para(f"**Result:** {label} is best read at **layer {out['best_layer']}** (accuracy "
                 f"{fmt(out['accuracy'])}" + (f", selectivity {fmt(sel)}" if sel is not None else "")
                 + ")."))
    if out["accuracy"] <= out["baseline"] + 0.05 or (sel is not None and sel <= 0.05):
        doc.add(Para("Caution: at no layer does the probe do clearly better than chance and than "
                     "its control task, so this evidence does not show that the model represents "
                     f"{label} in a form a linear classifier can read (with the subjects it was "
                     "tested on held out of training).", "bad"))
    permuted = all("permutation_p" in r for r in info["records"])
    rows = []
    for r in info["records"]:
        ci = fmt_ci(r.get("ci_low"), r.get("ci_high"))
        row = (r["site"], str(r["layer"]), fmt(r["accuracy"]), ci, fmt(r.get("control_accuracy")),
               fmt(r.get("selectivity")))
        if permuted:
            row += (fmt(r["permutation_accuracy"]), fmt(r["permutation_p"]))
        rows.append(row)
    header = ("site", "layer", "accuracy", "95% CI", "control", "selectivity")
    caption = "One row per layer. 95% intervals are over cross-validation folds."
    if permuted:
        n = info.get("config", {}).get("permutations", "several")
        header += ("shuffled labels", "p")
        caption += (f" *Shuffled labels*: the same probe trained on {n} random shufflings of the "
                    "answers, i.e. what it scores when there is nothing to find; *p*: the share of "
                    "shufflings that did as well as the real answers (small p: the layer really "
                    "carries the information).")
    doc.add(Table(header, tuple(rows), caption=caption,
                  right=(1, 2, 4, 5, 6, 7) if permuted else (1, 2, 4, 5)))
    if (step_dir / "probe.png").exists():
        doc.add(Image(step_dir / "probe.png", f"Probe accuracy and control accuracy by layer ({label})."))


def trace_section(doc: Document, name: str, step_dir: Path, params: dict[str, Any],
                  out: dict[str, Any]) -> None:
    """Where it was found (trace): which layers does the model use?"""
    what = (f"the gap P({params['contrast'][0]}) − P({params['contrast'][1]})" if params.get("contrast")
            else "the gap between the two continuations of each prompt" if out["contrast"]
            else "the probability of the expected continuation")
    doc.add(Heading(f"Where it was found: which layers does the model use? (step `{name}`)"),
            Para(f"Decodable is not the same as used. *Causal tracing* scrambles the subject of "
                 f"{out['n_prompts']} prompts (e.g. the profession), which destroys {what}, then "
                 "restores the model's clean internal state at one layer at a time. Layers whose "
                 "restoration brings the prediction back are the ones the model uses to produce it "
                 "(their *indirect effect*)."),
            Para(f"**Result:** with the subject intact the score is {fmt(out['clean'])}; scrambled, "
                 f"{fmt(out['corrupted'])}. " + (
                     f"Restoring the MLP (feed-forward) output at the subject's last word recovers "
                     f"the most at **layer {out['peak_layer']}** (indirect effect "
                     f"{fmt(out['peak_effect'])})." if out["peak_effect"] > 0 else
                     "Restoring the MLP (feed-forward) output at the subject's last word recovers "
                     "nothing at any layer.")))
    if (step_dir / "trace_average.png").exists():
        doc.add(Image(step_dir / "trace_average.png",
                      "Indirect effect of restoring each layer (rows) at each kind of token "
                      "(columns), averaged over prompts: darker = the model relies on it more."))


def locate_section(doc: Document, name: str, step_dir: Path, out: dict[str, Any],
                   truth_note: str | None) -> None:
    """The conclusion of locate, with its reasoning and caveats."""
    loc = read_json(step_dir / "location.json")
    verdicts = {True: ("**A layer carrying the association was found.**", "good"),
                False: ("**No layer was shown to carry the association.**", "bad"),
                None: ("**Not established:** no causal evidence for this layer.", "note")}
    verdict = verdicts[loc["bias_carrying"]]
    doc.add(Heading(f"Conclusion: where to intervene (step `{name}`)"), Para(*verdict),
            Para(f"**Layer {loc['layer']}** (layer range for multi-layer edits: {loc['layers']}). "
                 f"Evidence: {loc['reason']}."))
    if loc.get("notes"):
        doc.add(Bullets(tuple(loc["notes"])))
    if truth_note:
        doc.add(Para(truth_note, "note"))


def edit_section(doc: Document, name: str, out: dict[str, Any]) -> None:
    """What was changed: method, layers, how many requests, size of the change."""
    aim = ("make the group terms equally likely after each prompt (mitigation)"
           if out["objective"] == "equalize" else "make the model give the new answer")
    doc.add(Heading(f"What was changed (step `{name}`)"),
            Para(f"The weights of layer(s) **{out['layers']}** were edited with **{out['method'].upper()}** "
                 f"to {aim}, from {out['n_requests']} requests. Only the matrices listed below "
                 f"changed; the largest relative change to one matrix is "
                 f"**{out['max_relative_change']:.2%}** of its size (Frobenius norm)."))
    rows = tuple((p, fmt(c["delta_norm"]), f"{c['relative']:.2%}") for p, c in out["parameters"].items())
    doc.add(Table(("matrix", "size of change", "relative to the matrix"), rows, right=(1, 2)),
            Para(f"Weights fingerprint before `{out['fingerprint_before']}`, after "
                 f"`{out['fingerprint_after']}`. The exact change is saved in `{name}/edit/` and can "
                 "be re-applied or undone."))


def verify_section(doc: Document, name: str, step_dir: Path, out: dict[str, Any]) -> None:
    """What was preserved, according to the edit verifier."""
    doc.add(Heading(f"Checks on the edit (step `{name}`)"))
    if out["thresholds"]:
        marks = ", ".join(f"{k} ≥ {v}" if "increase" not in k else f"{k} ≤ {v}"
                          for k, v in out["thresholds"].items())
        doc.add(Para(f"Pass marks: {marks}."))
    doc.add(Para("**All checks passed.**", "good") if out["passed"] else
            Para("**Some checks failed:** " + "; ".join(out["failures"]), "bad"))
    path = step_dir / "verify.json"
    if path.exists():
        info = read_json(path)
        rows = tuple((m["metric"], fmt(m.get("before")), fmt(m.get("after")), fmt(m.get("change")))
                     for m in info.get("metrics", []))
        doc.add(Table(("measure", "before", "after", "change"), rows, right=(1, 2, 3),
                      caption="Measured on the edit requests, their paraphrases and unrelated "
                              f"(neighbourhood) prompts; details in `{name}/verify_prompts.csv`."))
        audit = info.get("audit")
        if audit:
            doc.add(Para("Weight audit: only the declared matrices changed." if audit.get("ok") else
                         "Weight audit FAILED: " + "; ".join(audit.get("problems", [])),
                         "" if audit.get("ok") else "bad"))


def comparison_section(doc: Document, before: str, after: str, rows: list[dict[str, Any]],
                       plot: Path | None) -> None:
    """The before/after table, with CIs and significance, in words first."""
    doc.add(Heading(f"Before and after: `{before}` vs `{after}`"),
            Para("Each measure was computed on the same items before and after the change. The "
                 "*95% confidence interval* of the change comes from a paired bootstrap: the items "
                 "were resampled many times to see how much the change could vary by chance. A "
                 "change is called **significant** when that interval does not include zero "
                 "(p < 0.05). Significant is not the same as large: with paired items even a tiny "
                 "change can be significant, so read the size of the change against the value "
                 "before (a gap of 0.449 that becomes 0.445 has barely moved)."))
    shown, summaries = headline(rows)
    significant = [r for r in shown if r["significant"]]
    if significant:
        doc.add(Bullets(tuple(f"**{r['label']}** ({r['suite']}): {fmt(r['before'])} → {fmt(r['after'])} "
                              f"(change {fmt(r['diff'])}, 95% CI {fmt_ci(r['ci_low'], r['ci_high'])})"
                              for r in significant[:8])))
    elif shown:
        doc.add(Para("None of the measures below changed significantly.", "note"))
    if shown:
        doc.add(Table(*comparison_table(shown), right=(2, 3, 4, 5, 6)))
    if summaries:
        doc.add(Para("Measures reported per group (one value per profession, nationality, ...) are "
                     "summarised here; every group's row, with its interval, is in "
                     "`comparison.csv`. *Closer to zero* counts the groups whose value moved toward "
                     "zero (for a gap: less bias)."),
                Table(("suite", "measure", "groups", "changed significantly", "closer to zero",
                       "mean |value| before", "mean |value| after"),
                      tuple((m["suite"], m["metric"], str(m["n"]), str(m["significant"]),
                             str(m["toward_zero"]), fmt(m["abs_before"]), fmt(m["abs_after"]))
                            for m in summaries), right=(2, 3, 4, 5, 6)))
    if plot is not None:
        doc.add(Image(plot, "Each measure before (grey) and after (colour), with 95% confidence "
                            "intervals."))
    preserved = [r for r in shown if r["suite"] in PRESERVED_SUITES
                 or any(h in r["metric"].lower() for h in PRESERVED_HINTS)]
    if preserved:
        kept = [r for r in preserved if not r["significant"]]
        doc.add(Heading("What was preserved", 3),
                Para(f"{len(kept)} of {len(preserved)} measures of general ability (knowledge, "
                     "perplexity, locality) did not change significantly." +
                     ("" if len(kept) == len(preserved) else " Those that did: " + ", ".join(
                         f"{r['label']} ({fmt(r['diff'])})" for r in preserved if r["significant"])
                      + ".")))


def headline(rows: list[dict[str, Any]], max_rows: int = 10
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split comparison rows into those shown one by one and per-group summaries.

    For each (suite, metric) only the coarsest breakdown is kept (overall before
    per-language); when that still has more than `max_rows` groups, it becomes one
    summary row (how many groups changed significantly, how many moved toward zero).
    """
    by_metric: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by_metric.setdefault((r["suite"], r["metric"]), []).append(r)
    shown, summaries = [], []
    for (suite, name), group in by_metric.items():
        depth = min(len(r["groups"]) for r in group)
        coarse = [r for r in group if len(r["groups"]) == depth]
        if len(coarse) <= max_rows:
            shown.extend(coarse)
            continue
        pairs = [(abs(r["before"]), abs(r["after"])) for r in coarse
                 if r["before"] is not None and r["after"] is not None]
        summaries.append({
            "suite": suite, "metric": name, "n": len(coarse),
            "significant": sum(1 for r in coarse if r["significant"]),
            "toward_zero": sum(1 for b, a in pairs if a < b),
            "abs_before": sum(b for b, _ in pairs) / len(pairs) if pairs else None,
            "abs_after": sum(a for _, a in pairs) / len(pairs) if pairs else None})
    return shown, summaries


def comparison_table(rows: list[dict[str, Any]]) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Headers and cells of the before/after table (shared by Markdown, HTML and console)."""
    headers = ("suite", "measure", "before [95% CI]", "after [95% CI]", "change", "95% CI of change",
               "p", "significant")
    cells = tuple((r["suite"], r["label"],
                   f"{fmt(r['before'])} {fmt_ci(r['before_ci_low'], r['before_ci_high'])}",
                   f"{fmt(r['after'])} {fmt_ci(r['after_ci_low'], r['after_ci_high'])}", fmt(r["diff"]),
                   fmt_ci(r["ci_low"], r["ci_high"]), fmt(r["p_value"], 2),
                   "yes" if r["significant"] else "no") for r in rows)
    return headers, cells


def metrics_section(doc: Document, name: str, out: dict[str, Any]) -> None:
    """An evaluation that is not part of a comparison: its metrics with CIs."""
    doc.add(Heading(f"Evaluation `{name}`", 3))
    rows = tuple((m.get("suite", ""), metric_label(m), fmt(m.get("value")),
                  fmt_ci(m.get("ci_low"), m.get("ci_high")), str(m.get("n", ""))) for m in out["metrics"])
    doc.add(Table(("suite", "measure", "value", "95% CI", "n"), rows, right=(2, 3, 4)))


def reproduce_section(doc: Document, manifest: dict[str, Any] | None, recipe: dict[str, Any],
                      command: str) -> None:
    """The exact command, the recipe, and what pins the result (model fingerprint, seed, versions)."""
    doc.add(Heading("How to reproduce"),
            Para("Run this command from the same folder (same biaskit version, same model):"),
            Code(command),
            Para("`recipe.yaml` in this run's folder is the recipe exactly as it ran (includes merged, "
                 "`--set` overrides applied); `biaskit run <run folder>/recipe.yaml` repeats it."))
    info = recipe.get("model_info") or {}
    items = [f"model: `{recipe['model']['id']}`" + (f", weights fingerprint `{info['fingerprint']}`"
                                                    if info.get("fingerprint") else ""),
             f"seed: {recipe['seed']}"]
    if manifest:
        items.append(f"biaskit {manifest.get('biaskit')}, Python {manifest.get('python')}, " + ", ".join(
            f"{k} {v}" for k, v in manifest.get("versions", {}).items()))
        if manifest.get("device"):
            items.append(f"device: {manifest['device']}")
    doc.add(Bullets(tuple(items)))


GLOSSARY = (
    "**Layer**: the model processes text in a stack of layers; early layers read words, later "
    "ones build the prediction.",
    "**Probe**: a simple classifier that reads a property from the model's internal state.",
    "**Selectivity**: probe accuracy minus accuracy on a control task with random labels per word.",
    "**Causal tracing / indirect effect**: how much restoring one layer's clean state brings back "
    "the prediction after the subject was scrambled.",
    "**95% confidence interval**: the range the value would fall in 95% of the time if the "
    "items were drawn again.",
    "**Significant**: the interval of the change excludes zero; the change is unlikely to be chance.",
)


def metric_label(m: dict[str, Any]) -> str:
    """A metric row's name with its group columns, e.g. `gap [language=en]`."""
    skip = {"suite", "model", "metric", "value", "ci_low", "ci_high", "n", "stat"}
    groups = [f"{k}={v}" for k, v in m.items() if k not in skip and v not in (None, "")]
    return m.get("metric", "") + (f" [{', '.join(groups)}]" if groups else "")
