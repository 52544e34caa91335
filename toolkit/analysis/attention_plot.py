"""Heatmaps of attention to the group term: layers x heads, and changes between variants.

Drawn on a bare matplotlib `Figure` with the Agg canvas (no pyplot), as in
`biaskit.probes.plot`, so nothing touches an embedding application's backend.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from biaskit.analysis.attention_report import AttentionComparison, AttentionReport

MAX_PANELS = 6  # `all` plus up to five groups; more would be unreadable in one figure


def plot_heatmaps(report: AttentionReport, path: str | os.PathLike[str]) -> None:
    """One heatmap per group: mean weight on the term, layers (rows) x heads (columns).

    The three highest-ranked heads of each panel are outlined; the colour scale is shared
    by all panels and starts at 0, and the title gives the uniform baseline.
    """
    groups = report.groups[:MAX_PANELS]
    mats = [report.matrix(g) for g in groups]
    vmax = max(float(np.nanmax(m)) for m in mats) or 1.0
    fig, axes = _figure(len(groups), report.n_heads, len(report.layers))
    variant = report.config.get("variant")
    fig.suptitle(f"Attention from the target to the group term ({report.config.get('model', 'model')}"
                 + (f", {variant}" if variant else "") + "; mean over items)")
    image = None
    for ax, group, mat in zip(axes, groups, mats, strict=False):
        image = ax.imshow(mat, aspect="auto", origin="lower", cmap="viridis", vmin=0.0, vmax=vmax)
        uniform = next(r["uniform"] for r in report.records if r["group"] == group)
        n = next(r["n"] for r in report.records if r["group"] == group)
        ax.set_title(f"{group} (n={n}; uniform {uniform:.2f})", fontsize="small")
        for r in report.top_heads(3, group):
            row = report.layers.index(r["layer"])
            ax.add_patch(_box(r["head"], row, "white"))
        _axes(ax, report.layers, report.n_heads)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=list(axes[:len(groups)]), label="attention weight on the term")
    fig.savefig(os.fspath(path), format="png", dpi=110)


def plot_comparison(comparison: AttentionComparison, path: str | os.PathLike[str]) -> None:
    """One heatmap per group of the change (variant - reference), centred on 0.

    Heads whose change survives the false-discovery-rate correction carry a black dot.
    """
    groups = comparison.groups[:MAX_PANELS]
    mats = [comparison.matrix(g) for g in groups]
    vmax = max(float(np.nanmax(np.abs(m))) for m in mats) or 1e-9
    fig, axes = _figure(len(groups), comparison.n_heads, len(comparison.layers))
    fig.suptitle(f"Change in attention to the group term: {comparison.variant} - "
                 f"{comparison.reference} (dot: q < {comparison.config.get('alpha', 0.05)})")
    image = None
    for ax, group, mat in zip(axes, groups, mats, strict=False):
        image = ax.imshow(mat, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        changed = [r for r in comparison.records if r["group"] == group and r["changed"]]
        if changed:
            ax.scatter([r["head"] for r in changed],
                       [comparison.layers.index(r["layer"]) for r in changed],
                       s=12, color="black", marker="o")
        ax.set_title(f"{group} ({len(changed)} changed)", fontsize="small")
        _axes(ax, comparison.layers, comparison.n_heads)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=list(axes[:len(groups)]),
                     label=f"{comparison.variant} - {comparison.reference}")
    fig.savefig(os.fspath(path), format="png", dpi=110)


def _figure(n_panels: int, n_heads: int, n_layers: int) -> tuple[Any, list[Any]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ncols = min(3, n_panels)
    nrows = math.ceil(n_panels / ncols)
    width = min(5.0, 1.5 + 0.25 * n_heads)
    height = min(5.0, 1.2 + 0.2 * n_layers)
    fig = Figure(figsize=(width * ncols + 1.2, height * nrows + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def _axes(ax: Any, layers: tuple[int, ...], n_heads: int) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("head")
    ax.set_ylabel("layer")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    step = max(1, len(layers) // 12)
    ax.set_yticks(range(0, len(layers), step))
    ax.set_yticklabels([str(layers[i]) for i in range(0, len(layers), step)])


def _box(x: int, y: int, color: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1.0, 1.0, fill=False, edgecolor=color, linewidth=1.5)
