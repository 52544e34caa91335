"""Report sections of the steps that make new model versions: finetune, erase and steer.

Each says, for a reader who is not an ML engineer, what was changed and how much, what
stayed untouched, and the evidence that the change did what it was meant to (held-out
perplexity of each adapter on each group; a fresh probe before and after an erasure; the
probe a steering direction came from). The fine-tunes' loss curves are drawn here, into
the report's folder, from the curves each adapter recorded in its adapter.json.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from biaskit.io import read_json
from biaskit.recipes.document import Bullets, Document, Heading, Image, Para, Table, fmt, fmt_ci
from biaskit.recipes.report_analysis import missing

GLOSSARY: dict[str, tuple[str, ...]] = {
    "finetune": ("**LoRA adapter**: a small add-on to the model's weights, trained on new texts "
                 "while the original weights stay as they were; it can be switched on and off.",
                 "**Perplexity**: how surprised the model is by real text (lower = the text looks "
                 "more like what the model would write).",
                 "**Loss**: the training error the fine-tune minimises (lower = the adapter "
                 "predicts its training texts better)."),
    "erase": ("**Concept erasure (LEACE)**: removing, from a layer's output, the directions along "
              "which the groups differ on average, so that no linear classifier can read the "
              "attribute there any more.",),
    "steer": ("**Steering**: adding a fixed direction to the model's internal state at one layer "
              "while it runs, to push it towards one group; no weight changes.",),
}


def _rel(path: str, run_dir: Path) -> str:
    try:
        return os.path.relpath(path, run_dir).replace(os.sep, "/")
    except ValueError:  # another drive on Windows
        return path


def finetune_section(doc: Document, name: str, step_dir: Path, params: Mapping[str, Any],
                     out: Mapping[str, Any], plot_path: Path) -> None:
    """What was trained: groups, sizes, loss curves, held-out perplexity, where the adapters are."""
    lora = dict(params.get("lora") or {})
    split_by = params.get("split_by")
    groups = list(out["groups"])
    first = next(iter(out["sizes"].values()), {})
    what = (f"separately on the conversations of each group of *{', '.join(split_by)}* "
            f"({len(groups)} groups)" if split_by else "on all the texts")
    cda = (" Each text was used twice, as written and with gendered words swapped "
           "(counterfactual augmentation), so that the adapter learns no gender preference."
           if out.get("objective") == "cda" else "")
    doc.add(Heading(f"What was trained: {'one adapter per group' if split_by else 'a fine-tune'} "
                    f"(step `{name}`)"),
            Para(f"The model was fine-tuned {what} from `{params.get('data')}` with *LoRA*: instead of "
                 "changing its weights, a small add-on (an *adapter*"
                 + (f", of rank {lora['rank']}" if "rank" in lora else "") + ") is trained and the "
                 "original model stays untouched. Every adapter got the same seed and the same "
                 f"number of training steps ({first.get('steps', 'n/a')}), so adapters differ by "
                 f"their data, not by how long they trained.{cda}"))
    split = _split_rows(step_dir)
    rows = []
    for g in groups:
        sizes, srow = out["sizes"].get(g, {}), split.get(g, {})
        rows.append((g, str(srow.get("train_respondents", "n/a")), str(sizes.get("items", "n/a")),
                     str(sizes.get("heldout", srow.get("heldout", "n/a"))), str(sizes.get("steps", "n/a")),
                     fmt(sizes.get("epochs")), fmt(out["final_loss"].get(g)),
                     f"`{_rel(out['adapters'][g], step_dir.parent)}`"))
    doc.add(Table(("group", "respondents", "training items", "held out", "steps", "epochs",
                   "final loss", "adapter folder"), tuple(rows),
                  caption="Respondents and items used for training; held-out conversations (of "
                          "other respondents) were kept for the check below.", right=(1, 2, 3, 4, 5, 6)))
    if out.get("skipped"):
        doc.add(Para("Groups too small to train on (fewer conversations than `min_size`), skipped: "
                     + ", ".join(f"{g} ({n})" for g, n in out["skipped"].items()) + ".", "note"))
    curves = {}
    for g in groups:
        meta = Path(out["adapters"][g]) / "adapter.json"
        if meta.exists() and read_json(meta).get("curve"):
            curves[g] = read_json(meta)["curve"]
    if curves:
        doc.add(Image(plot_loss(curves, plot_path),
                      "Training loss of each adapter by step (lower: the adapter predicts its "
                      "group's texts better). Curves that flatten have learned what they can."))
    else:
        missing(doc, name, ["adapters/<group>/adapter.json"])
    if out.get("perplexity"):
        _perplexity(doc, out["perplexity"], out.get("diagonal") or {}, groups, bool(split_by))
    if out.get("metrics"):
        _suite_table(doc, name, out["metrics"])
    doc.add(Para("To use an adapter: `biaskit evaluate --adapter <folder>` (or any command that "
                 "loads a model), or `variants: [base, \"${" + name + ".adapters}\"]` in a later "
                 "recipe step."))


def _suite_table(doc: Document, name: str, metrics: Sequence[Mapping[str, Any]],
                 max_rows: int = 15) -> None:
    """Overall measures of every suite, one column per model version (groups are in the CSV)."""
    from biaskit.recipes.report_sections import metric_label

    versions = list(dict.fromkeys(str(m["variant"]) for m in metrics))
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for m in metrics:
        rest = {k: v for k, v in m.items() if k != "variant"}
        label = metric_label(rest)
        if "[" not in label:  # overall values only; per-group rows stay in metrics.csv
            cells.setdefault((str(m.get("suite", "")), label), {})[str(m["variant"])] = (
                f"{fmt(m.get('value'))} {fmt_ci(m.get('ci_low'), m.get('ci_high'))}")
    rows = tuple((suite, label, *(c.get(v, "n/a") for v in versions))
                 for (suite, label), c in list(cells.items())[:max_rows])
    doc.add(Heading("Evaluation of every version", 3),
            Table(("suite", "measure", *versions), rows,
                  caption=f"Value [95% CI] of each overall measure for the base model and each "
                          f"adapter; every measure and group is in `{name}/metrics.csv`.",
                  right=tuple(range(2, 2 + len(versions)))))


def _split_rows(step_dir: Path) -> dict[str, dict[str, Any]]:
    path = step_dir / "split.csv"
    if not path.exists():
        return {}
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        return {r["group"]: r for r in csv.DictReader(fh)}


def _perplexity(doc: Document, rows: Sequence[Mapping[str, Any]], diagonal: Mapping[str, bool],
                groups: Sequence[str], by_group: bool) -> None:
    cols = list(dict.fromkeys(str(r["group"]) for r in rows))
    versions = list(dict.fromkeys(str(r["variant"]) for r in rows))
    value = {(str(r["variant"]), str(r["group"])): r["perplexity"] for r in rows}
    doc.add(Heading("Did each adapter learn its group?", 3),
            Para("Held-out perplexity: each model version (rows) scored the real conversations of "
                 "each group's held-out respondents (columns). Lower means the version finds the "
                 "group's conversations less surprising." + (
                     " If each adapter learned what is specific to its group, the lowest value of "
                     "each column is on the diagonal (the group's own adapter)." if by_group else "")),
            Table(("model version", *cols),
                  tuple((v, *(fmt(value.get((v, c))) + (" ◀" if v == c else "") for c in cols))
                        for v in versions),
                  caption="◀ marks each group's own adapter.", right=tuple(range(1, len(cols) + 1))))
    if diagonal:
        wins = sum(bool(x) for x in diagonal.values())
        doc.add(Para(f"**Result:** the group's own adapter is best on **{wins} of {len(diagonal)}** "
                     "groups.", "good" if wins == len(diagonal) else "note"))


def plot_loss(curves: Mapping[str, Sequence[Mapping[str, Any]]], path: Path) -> Path:
    """One line per adapter: training loss by step; written atomically as PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from biaskit.io import atomic_path

    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for group, curve in curves.items():
        ax.plot([p["step"] for p in curve], [p["loss"] for p in curve], marker="o", markersize=3,
                label=group)
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title("Training loss of each adapter", fontsize="medium")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def erase_section(doc: Document, name: str, step_dir: Path, params: Mapping[str, Any],
                  out: Mapping[str, Any]) -> None:
    """What was erased, where, and whether a fresh probe can still read it."""
    label = out["label"]
    layers = ", ".join(map(str, out["layers"]))
    doc.add(Heading(f"What was changed: *{label}* erased at layer(s) {layers} (step `{name}`)"),
            Para(f"*Concept erasure* (LEACE) found the directions along which texts of different "
                 f"*{label}* ({', '.join(map(str, out['classes']))}) differ on average inside the "
                 f"model, and removed them from the output of the feed-forward part (MLP) of "
                 f"layer(s) {layers}. The removal is folded into the weights (a change of "
                 f"rank {', '.join(map(str, out['ranks']))} per layer), so it stays for every later "
                 f"step. It was fitted on {out['n_fit']} texts from `{params.get('data')}`."))
    path = step_dir / "erase.json"
    if path.exists():
        rows = tuple((str(r["layer"]), str(r["rank"]), fmt(r.get("mean_gap_before")),
                      fmt(r.get("mean_gap_after")), fmt(r.get("relative_gap")))
                     for r in read_json(path).get("rows", []))
        doc.add(Table(("layer", "rank", "group difference before", "after", "after / before"), rows,
                      caption="Largest distance between the groups' average internal states at the "
                              "erased layer, measured again after the change (about 0: erased).",
                      right=(0, 1, 2, 3, 4)))
    else:
        missing(doc, name, ["erase.json"])
    before, after, base = (out.get("heldout_accuracy_before"), out.get("heldout_accuracy_after"),
                           out.get("heldout_baseline"))
    if after is None:
        doc.add(Para("No held-out check was run (`heldout: 0`): nothing here shows that the erasure "
                     "holds beyond the texts it was fitted on.", "note"))
        return
    holds = after <= (base or 0.0) + 0.05
    rough = (f" With {out['n_heldout']} texts these accuracies are rough (a few texts either way "
             "move them by several points)." if out["n_heldout"] < 50 else "")
    doc.add(Para(f"**Probe before and after:** {out['n_heldout']} texts were kept out of the fit. A "
                 f"fresh probe trained on them reads *{label}* with accuracy **{fmt(before)}** before "
                 f"and **{fmt(after)}** after the erasure (always guessing the largest group: "
                 f"{fmt(base)}). " + ("The erasure holds on texts it was not fitted on." if holds else
                                      "A probe can still read it above chance on new texts.") + rough,
                 "good" if holds else "bad"),
            Para(f"Weights fingerprint before `{out['fingerprint_before']}`, after "
                 f"`{out['fingerprint_after']}`; the change is saved in `{name}/erase/` and can be "
                 "re-applied or undone."))


def steer_section(doc: Document, name: str, params: Mapping[str, Any], out: Mapping[str, Any],
                  probe: Mapping[str, Any] | None, evaluations: tuple[Sequence[str], Sequence[str]]
                  ) -> None:
    """What the steering adds, where, from which probe, and where its effect is measured."""
    source = str(out["source"])
    if source.startswith("probe:"):
        _, step, kind = (source.split(":") + ["", ""])[:3]
        origin = (f"the probe of step `{step}` (" + ("the difference between the groups' average "
                  "internal states" if kind == "mean_diff" else "the probe's own weights") + ")")
    else:
        origin = (f"the difference between the groups' average internal states on "
                  f"`{source.removeprefix('data:')}`")
    doc.add(Heading(f"What was changed: steering towards *{out['toward']}* at layer {out['layer']} "
                    f"(step `{name}`)"),
            Para(f"No weight was changed. From this step on, a fixed direction of length "
                 f"{fmt(out['strength'])} is added to the model's internal state "
                 f"({out['site']}) at layer {out['layer']}, at {out['positions']} tokens, pushing it "
                 f"towards *{out['toward']}*. The direction comes from {origin}."))
    notes = []
    if probe is not None:
        acc, base = probe.get("accuracy"), probe.get("baseline")
        read = acc is not None and base is not None and acc > base + 0.05
        notes.append(f"The probe of step `{probe['step']}` reads the attribute at layer {out['layer']} "
                     f"with accuracy {fmt(acc)} (always guessing: {fmt(base)}), " + (
                         "so the direction points at something the model does represent there."
                         if read else "no better than guessing: the direction may not point at the "
                         "attribute at all, and any effect of steering along it is doubtful."))
    if out.get("cosine_with_probe") is not None:
        notes.append(f"Agreement with the probe's direction (cosine, 1 = the same): "
                     f"{fmt(out['cosine_with_probe'])}.")
    if out.get("direction_norm") is not None:
        notes.append(f"Natural scale of the direction (its length before normalising): "
                     f"{fmt(out['direction_norm'])}.")
    before, after = evaluations
    if before or after:
        notes.append("Measured before steering: " + (", ".join(f"`{e}`" for e in before) or "nothing")
                     + "; with steering on: " + (", ".join(f"`{e}`" for e in after) or "nothing")
                     + ". Their sections (and the before/after table, when they are compared) show "
                       "the effect.")
    else:
        notes.append("No evaluate step surrounds this step, so this report cannot show its effect.")
    doc.add(Bullets(tuple(notes)))


def glossary(kinds: Sequence[str]) -> tuple[str, ...]:
    """Glossary entries for the model-changing steps present in a run."""
    return tuple(item for kind in dict.fromkeys(kinds) for item in GLOSSARY.get(kind, ()))
