"""Files of an embedding analysis: JSON, tidy CSVs for R, and the two kinds of plots.

Plots are drawn on bare matplotlib `Figure`s with the Agg canvas (no pyplot, so nothing
touches the global backend of an application embedding biaskit) and written atomically.

- `embedding_separation.png`: one panel per metric, separation per layer for each
  variant with its 95% CI band, and the shuffled-label null as a grey band. Read it as:
  where the coloured line leaves the grey band, the layer separates the groups.
- `embedding_map_<method>[_<variant>].png`: one scatter per layer, coloured by group.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biaskit.io import atomic_path, write_csv, write_json

if TYPE_CHECKING:
    from biaskit.analysis.embeddings import EmbeddingReport

JSON_FILE = "embeddings.json"
METRICS_CSV = "embedding_metrics.csv"
COORDS_CSV = "embedding_coordinates.csv"
SEPARATION_PNG = "embedding_separation.png"
FORMAT_VERSION = 1
METRIC_TITLES = {"silhouette": "silhouette (cosine)",
                 "knn_purity": "kNN purity, chance-corrected",
                 "knn_purity_raw": "kNN purity (share of same-group neighbours)"}
MAX_COLUMNS = 6


def save_report(report: EmbeddingReport, out: str | os.PathLike[str]) -> Path:
    """Write every file of `report` into folder `out` (created if needed)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / JSON_FILE, {"format_version": FORMAT_VERSION, "label": report.label,
                                 "layers": list(report.layers), "variants": list(report.variants),
                                 "groups": list(report.groups), "config": report.config,
                                 "metrics": report.metrics})
    write_csv(out / METRICS_CSV, report.metrics)
    write_csv(out / COORDS_CSV, report.coordinates)
    with atomic_path(out / SEPARATION_PNG) as tmp:
        plot_separation(report, tmp)
    for method in dict.fromkeys(r["method"] for r in report.coordinates):
        for variant in report.variants:
            suffix = "" if len(report.variants) == 1 else f"_{_safe(variant)}"
            with atomic_path(out / f"embedding_map_{method}{suffix}.png") as tmp:
                plot_maps(report, method, variant, tmp)
    return out


def map_files(report: EmbeddingReport) -> list[str]:
    """Names of the map PNGs `save_report` writes."""
    methods = dict.fromkeys(r["method"] for r in report.coordinates)
    if len(report.variants) == 1:
        return [f"embedding_map_{m}.png" for m in methods]
    return [f"embedding_map_{m}_{_safe(v)}.png" for m in methods for v in report.variants]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name).strip("_") or "variant"


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def plot_separation(report: EmbeddingReport, path: str | os.PathLike[str]) -> None:
    """Separation per layer with CI bands, one panel per metric, null band in grey."""
    from matplotlib.ticker import MaxNLocator

    metrics = [m for m in METRIC_TITLES if any(r["metric"] == m for r in report.metrics)]
    fig = _figure(4.6 * len(metrics), 3.8)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    sep = report.config.get("separation", {})
    fig.suptitle(f"How well '{report.label}' groups separate, per layer "
                 f"(full-dimensional space; bands: 95% bootstrap CI; grey: shuffled labels, "
                 f"{sep.get('null_repeats', '?')} draws)", fontsize="medium")
    colours = _colours(len(report.variants))
    for ax, metric in zip(axes, metrics, strict=True):
        for colour, variant in zip(colours, report.variants, strict=True):
            rows = sorted((r for r in report.metrics
                           if r["metric"] == metric and r["variant"] == variant),
                          key=lambda r: r["layer"])
            x = [r["layer"] for r in rows]
            ax.plot(x, [r["value"] for r in rows], marker="o", color=colour, label=variant)
            ax.fill_between(x, [r["ci_low"] for r in rows], [r["ci_high"] for r in rows],
                            color=colour, alpha=0.2)
            if variant == report.variants[0]:
                ax.plot(x, [r["null_mean"] for r in rows], linestyle="--", color="gray",
                        label="shuffled labels")
                ax.fill_between(x, [r["null_low"] for r in rows], [r["null_high"] for r in rows],
                                color="gray", alpha=0.25)
        if metric != "knn_purity_raw":
            ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_title(METRIC_TITLES[metric], fontsize="medium")
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small", loc="best")
    fig.savefig(os.fspath(path), format="png", dpi=110)


def plot_maps(report: EmbeddingReport, method: str, variant: str,
              path: str | os.PathLike[str]) -> None:
    """One scatter per layer (a wrapped grid), points coloured by group."""
    rows = [r for r in report.coordinates if r["method"] == method and r["variant"] == variant]
    layers = sorted({r["layer"] for r in rows})
    ncols = min(MAX_COLUMNS, max(1, len(layers)))
    nrows = -(-len(layers) // ncols)
    fig = _figure(3.0 * ncols + 1.6, 3.0 * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    groups = list(report.groups)
    colours = dict(zip(groups, _colours(len(groups)), strict=True))
    size = max(2.0, min(18.0, 4000.0 / max(1, len(rows) / max(1, len(layers)))))
    name = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}.get(method, method)
    fig.suptitle(f"{name} of '{report.label}' per layer ({variant})", fontsize="medium")
    for k, ax in enumerate(axes.flat):
        if k >= len(layers):
            ax.set_axis_off()
            continue
        here = [r for r in rows if r["layer"] == layers[k]]
        for g in groups:
            pts = [r for r in here if r["label"] == g]
            ax.scatter([r["x"] for r in pts], [r["y"] for r in pts], s=size, alpha=0.7,
                       color=colours[g], label=g, linewidths=0)
        ax.set_title(f"layer {layers[k]}", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside right center", fontsize="small", markerscale=2,
               title=report.label)
    fig.savefig(os.fspath(path), format="png", dpi=100)
