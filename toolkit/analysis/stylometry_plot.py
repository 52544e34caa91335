"""Files of a stylometry analysis: JSON, tidy CSVs for R, and three plots.

- `stylometry_confusion.png`: rows are the true groups, columns the predicted ones;
  each cell shows how many texts (and which share of the row) landed there. A strong
  diagonal means the groups write distinguishably.
- `stylometry_top_features.png`: per group, the features that push the classifier most
  towards it (standardised logistic coefficients).
- `stylometry_delta.png`: Burrows' Delta between every pair of groups.

Figures are bare matplotlib `Figure`s on the Agg canvas, written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biaskit.io import atomic_path, write_csv, write_json

if TYPE_CHECKING:
    from biaskit.analysis.stylometry import StylometryReport

JSON_FILE = "stylometry.json"
FORMAT_VERSION = 1
CSV_FILES = {"texts": "stylometry_texts.csv", "features": "stylometry_features.csv",
             "per_class": "stylometry_per_class.csv", "confusion": "stylometry_confusion.csv",
             "top_features": "stylometry_top_features.csv", "delta": "stylometry_delta.csv",
             "groups": "stylometry_groups.csv"}
PNG_FILES = {"confusion": "stylometry_confusion.png", "top_features": "stylometry_top_features.png",
             "delta": "stylometry_delta.png"}


def save_report(report: StylometryReport, out: str | os.PathLike[str]) -> Path:
    """Write every file of `report` into folder `out` (created if needed)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    c = report.classification
    write_json(out / JSON_FILE, {
        "format_version": FORMAT_VERSION, "label": report.label, "config": report.config,
        "classification": c.summary(), "per_class": c.per_class, "confusion": c.confusion,
        "top_features": c.top_features, "delta": report.delta.rows,
        "delta_words": list(report.delta.words)})
    write_csv(out / CSV_FILES["texts"], report.text_rows())
    names = report.features.names
    write_csv(out / CSV_FILES["features"], (
        {"id": ident, "label": lab, **{n: float(v) for n, v in zip(names, row, strict=True)}}
        for ident, lab, row in zip(report.ids, report.labels, report.features.values, strict=True)))
    write_csv(out / CSV_FILES["per_class"], c.per_class)
    write_csv(out / CSV_FILES["confusion"], (
        {"true": a, "predicted": b, "count": c.confusion[i][j]}
        for i, a in enumerate(c.classes) for j, b in enumerate(c.classes)))
    write_csv(out / CSV_FILES["top_features"], c.top_features)
    write_csv(out / CSV_FILES["delta"], report.delta.rows)
    write_csv(out / CSV_FILES["groups"], report.group_means)
    for key, draw in (("confusion", plot_confusion), ("top_features", plot_top_features),
                      ("delta", plot_delta)):
        with atomic_path(out / PNG_FILES[key]) as tmp:
            draw(report, tmp)
    return out


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_confusion(report: StylometryReport, path: str | os.PathLike[str]) -> None:
    """Confusion matrix: counts and row shares, true groups down, predictions across."""
    import numpy as np

    c = report.classification
    counts = np.array(c.confusion, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    k = len(c.classes)
    fig = _figure(2.2 + 0.9 * k, 1.8 + 0.8 * k)
    ax = fig.subplots()
    image = ax.imshow(shares, vmin=0.0, vmax=1.0, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{int(counts[i, j])}\n{shares[i, j]:.0%}", ha="center", va="center",
                    fontsize="small", color="white" if shares[i, j] > 0.6 else "black")
    ax.set_xticks(range(k), c.classes, rotation=30, ha="right")
    ax.set_yticks(range(k), c.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel(f"true {report.label}")
    ax.set_title(f"accuracy {c.accuracy:.2f} [{c.ci_low:.2f}, {c.ci_high:.2f}], "
                 f"chance {c.chance:.2f}\n({c.folds}-fold cross-validation, {c.n} texts)",
                 fontsize="medium")
    fig.colorbar(image, ax=ax, label="share of the row")
    fig.savefig(os.fspath(path), format="png", dpi=110)


def plot_top_features(report: StylometryReport, path: str | os.PathLike[str]) -> None:
    """Per group, horizontal bars of its most discriminative features."""
    c = report.classification
    k = len(c.classes)
    ncols = min(k, 3)
    nrows = -(-k // ncols)
    top = max((r["rank"] for r in c.top_features), default=1)
    fig = _figure(4.2 * ncols, 0.5 + (0.28 * top + 0.8) * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    colours = {"function_word": "tab:blue", "word": "tab:orange", "char_ngram": "tab:green",
               "style": "tab:purple"}
    fig.suptitle(f"Features that point to each '{report.label}' (logistic weights on "
                 "standardised features)", fontsize="medium")
    for k_, ax in enumerate(axes.flat):
        if k_ >= k:
            ax.set_axis_off()
            continue
        rows = sorted((r for r in c.top_features if r["class"] == c.classes[k_]),
                      key=lambda r: r["rank"], reverse=True)
        ax.barh([r["feature"] for r in rows], [r["weight"] for r in rows],
                color=[colours.get(r["kind"], "gray") for r in rows])
        ax.set_title(str(c.classes[k_]), fontsize="medium")
        ax.tick_params(axis="y", labelsize="small")
        ax.grid(axis="x", alpha=0.3)
    handles = [_patch(colour, kind.replace("_", " ")) for kind, colour in colours.items()]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize="small")
    fig.savefig(os.fspath(path), format="png", dpi=110)


def _patch(colour: str, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color=colour, label=label)


def plot_delta(report: StylometryReport, path: str | os.PathLike[str]) -> None:
    """Heatmap of Burrows' Delta between groups (darker: more different)."""
    d = report.delta
    k = len(d.groups)
    fig = _figure(2.4 + 0.9 * k, 1.8 + 0.8 * k)
    ax = fig.subplots()
    image = ax.imshow(d.matrix, cmap="Oranges", vmin=0.0)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{d.matrix[i, j]:.2f}", ha="center", va="center", fontsize="small")
    ax.set_xticks(range(k), d.groups, rotation=30, ha="right")
    ax.set_yticks(range(k), d.groups)
    null = [r["null_mean"] for r in d.rows]
    ax.set_title(f"Burrows' Delta on {len(d.words)} frequent words\n(shuffled groups: "
                 f"mean {sum(null) / max(1, len(null)):.2f})", fontsize="medium")
    fig.colorbar(image, ax=ax, label="Delta")
    fig.savefig(os.fspath(path), format="png", dpi=110)
