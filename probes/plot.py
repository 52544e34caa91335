"""The probe curve: accuracy, control accuracy and selectivity per layer, with CI bands.

Drawn on a bare matplotlib `Figure` with the Agg canvas: no pyplot, so nothing touches
the global backend or figure registry of an application that embeds biaskit.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from biaskit.probes.report import ProbeReport


def plot_report(report: ProbeReport, path: str | os.PathLike[str]) -> None:
    """Save a PNG with one row of panels per site: accuracy (left), selectivity (right).

    Left: probe accuracy and control accuracy with their 95% fold CIs as bands, and the
    majority-class baseline dashed. Right: selectivity with its CI band and a zero line.
    The best layer is marked with a dotted vertical line.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    sites = report.sites
    has_control = any(r.get("control_accuracy") is not None for r in report.records)
    ncols = 2 if has_control else 1
    fig = Figure(figsize=(5.5 * ncols, 3.6 * len(sites) + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(sites), ncols, squeeze=False)
    model = report.config.get("model")
    fig.suptitle(f"Linear probe for '{report.label}'" + (f" in {model}" if model else "")
                 + f" ({report.config.get('cv', '?')}-fold CV, C={report.config.get('C', '?')};"
                 " bands: 95% t-interval over folds)")
    for row, site in enumerate(sites):
        recs = sorted((r for r in report.records if r["site"] == site), key=lambda r: r["layer"])
        x = [r["layer"] for r in recs]

        def col(name: str, recs=recs) -> list[float]:
            return [float(r[name]) for r in recs]

        ax = axes[row][0]
        ax.plot(x, col("accuracy"), marker="o", color="tab:blue", label="probe accuracy")
        ax.fill_between(x, col("ci_low"), col("ci_high"), color="tab:blue", alpha=0.2)
        if has_control:
            ax.plot(x, col("control_accuracy"), marker="s", color="tab:orange",
                    label="control task accuracy")
            ax.fill_between(x, col("control_ci_low"), col("control_ci_high"),
                            color="tab:orange", alpha=0.2)
        ax.plot(x, col("baseline"), linestyle="--", color="gray", label="majority baseline")
        if all("permutation_accuracy" in r for r in recs):
            ax.plot(x, col("permutation_accuracy"), linestyle=":", color="gray",
                    label="shuffled labels (mean)")
        if site == report.best_site:
            ax.axvline(report.best_layer, color="black", linestyle=":", linewidth=1,
                       label=f"best layer ({report.best_layer})")
        ax.set_ylim(min(0.0, *col("ci_low")), 1.02)
        ax.set_xlabel("layer")
        ax.set_ylabel("accuracy")
        ax.set_title(f"site: {site}")
        ax.legend(loc="lower right", fontsize="small")
        if has_control:
            ax2 = axes[row][1]
            ax2.plot(x, col("selectivity"), marker="o", color="tab:green", label="selectivity")
            ax2.fill_between(x, col("selectivity_ci_low"), col("selectivity_ci_high"),
                             color="tab:green", alpha=0.2)
            ax2.axhline(0.0, color="gray", linestyle="--", linewidth=1)
            ax2.set_xlabel("layer")
            ax2.set_ylabel("accuracy - control accuracy")
            ax2.set_title(f"selectivity ({site})")
            if site == report.best_site:
                ax2.axvline(report.best_layer, color="black", linestyle=":", linewidth=1)
        for ax_ in axes[row]:
            ax_.grid(alpha=0.3)
            ax_.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.savefig(os.fspath(path), format="png", dpi=110)
