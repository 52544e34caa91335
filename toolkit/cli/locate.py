"""`biaskit locate`: combine probe and trace results into the layer(s) to edit."""

from __future__ import annotations

from pathlib import Path

import click

from biaskit.cli.options import out_option


@click.command("locate")
@click.option("--probe", "probe_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Output directory of `biaskit probe` (probe.json).")
@click.option("--trace", "trace_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Output directory of `biaskit trace` (trace.json).")
@click.option("--span", default=None, type=int, help="Layers in the range (default: depth / 4).")
@click.option("--trace-weight", default=0.75, show_default=True,
              help="Weight of causal evidence against probe selectivity.")
@click.option("--layer", default=None, type=int, help="Force this layer.")
@out_option
def locate_cmd(probe_dir: str | None, trace_dir: str | None, span: int | None,
               trace_weight: float, layer: int | None, out: str) -> None:
    """Rank layers by causal effect and probe selectivity; say which to edit and why.

    Writes location.json (layer, layers, ranking, reason, bias_carrying) and location.csv.
    """
    from rich.console import Console
    from rich.table import Table

    from biaskit.probes.location import locate
    from biaskit.probes.trace_report import TraceReport

    if probe_dir is None and trace_dir is None:
        raise click.UsageError("give --probe DIR, --trace DIR, or both")
    probe = None
    if probe_dir is not None:
        from biaskit.probes.report import ProbeReport

        probe = ProbeReport.load(probe_dir)
    trace = TraceReport.load(trace_dir) if trace_dir is not None else None
    loc = locate(probe, trace, span=span, trace_weight=trace_weight, layer=layer)
    loc.save(Path(out))
    table = Table(title=f"locate ({loc.rule})", title_justify="left")
    for col in ("rank", "layer", "score", "probe selectivity", "MLP effect", "95% CI"):
        table.add_column(col, justify="right")
    for rank, row in enumerate(loc.ranking, 1):
        sel = row.get("probe_selectivity")
        eff = row.get("trace_effect")
        ci = (f"{row['trace_ci_low']:.3g}, {row['trace_ci_high']:.3g}"
              if eff is not None and row["trace_ci_low"] == row["trace_ci_low"] else "")
        table.add_row(str(rank), str(row["layer"]), f"{row['score']:.2f}",
                      "" if sel is None else f"{sel:.2f}", "" if eff is None else f"{eff:.3g}", ci)
    console = Console()
    console.print(table)
    console.print(f"[bold]{loc.reason}[/bold]; layer range {loc.layers}")
    for note in loc.notes:
        console.print(note)
