"""Causal-trace heatmaps drawn the way the ROME paper draws them (tokens x layers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from biaskit.probes.trace_report import ROLES, SITE_TITLES, PromptTrace, save_figure


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_prompt(p: PromptTrace, sites: tuple[str, ...], path: Path, *, contrast: bool) -> None:
    """One panel per site: restored score per (token, layer); subject tokens starred."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(sites), figsize=(5.0 * len(sites), 0.45 * len(p.tokens) + 1.6),
                             squeeze=False)
    fig.subplots_adjust(wspace=0.75)
    labels = [f"{tok}*" if t in p.subject_tokens else tok for t, tok in enumerate(p.tokens)]
    what = f"P({p.targets[0]}) - P({p.targets[1]})" if contrast else f"P({p.targets[0]})"
    for ax, site in zip(axes[0], sites, strict=True):
        grid = [list(col) for col in zip(*p.grids[site], strict=True)]  # tokens x layers
        image = ax.imshow(grid, aspect="auto", cmap="RdBu_r" if contrast else "Purples",
                          interpolation="nearest")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("layer")
        ax.set_title(f"restoring {SITE_TITLES.get(site, site)}", fontsize=10)
        fig.colorbar(image, ax=ax, shrink=0.8).set_label(what)
    fig.suptitle(f"{p.prompt!r}  (clean {p.clean:.3f}, corrupted {p.corrupted:.3f})", fontsize=10)
    save_figure(fig, path)


def plot_average(report: Any, path: Path) -> None:
    """Average indirect effect per (token role, layer), one panel per site."""
    plt = _pyplot()
    sites = report.sites
    fig, axes = plt.subplots(1, len(sites), figsize=(5.0 * len(sites), 3.6), squeeze=False)
    fig.subplots_adjust(wspace=0.9)
    for ax, site in zip(axes[0], sites, strict=True):
        rows = [r for r in report.records if r["site"] == site]
        n_layers = max(r["layer"] for r in rows) + 1
        roles = [role for role in ROLES if any(r["role"] == role for r in rows)]
        grid = [[0.0] * n_layers for _ in roles]
        for r in rows:
            grid[roles.index(r["role"])][r["layer"]] = r["aie"]
        image = ax.imshow(grid, aspect="auto", cmap="Purples", interpolation="nearest")
        ax.set_yticks(range(len(roles)), [r.replace("_", " ") for r in roles])
        ax.set_xlabel("layer")
        ax.set_title(f"avg indirect effect: {SITE_TITLES.get(site, site)}", fontsize=10)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(f"causal trace of {report.model} over {len(report.prompts)} prompts", fontsize=10, y=1.06)
    save_figure(fig, path)
