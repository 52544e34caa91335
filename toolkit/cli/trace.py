"""`biaskit trace`: causal tracing of prompts, with heatmaps and a per-layer table."""

from __future__ import annotations

import json
from pathlib import Path

import click

from biaskit.cli.options import load_from_options, model_options, out_option


@click.command("trace")
@model_options
@click.option("--data", "-d", required=True, help="Prompts: .jsonl/.json/.csv/.tsv or lab:NAME.")
@click.option("--text", "text_col", default="text", show_default=True,
              help="Column with the prompt (it ends where the target would follow).")
@click.option("--subject", "subject_col", default="subject", show_default=True,
              help="Column with the subject to corrupt.")
@click.option("--group", "group_col", default=None,
              help="Column with each subject's identity across phrasings (e.g. subject_id): "
                   "effects are oriented by the other prompts of the group, not by their own "
                   "noise. Default: subject_id when the data has it, else the subject.")
@click.option("--target", "target_col", default=None, help="Column with the target continuation.")
@click.option("--contrast", default=None, help="Two targets, comma-separated: trace P(a) - P(b).")
@click.option("--contrast-column", default=None,
              help="Column holding a [a, b] pair per prompt (e.g. the lab's 'targets').")
@click.option("--limit", default=None, type=int, help="Trace only the first N prompts.")
@click.option("--samples", default=10, show_default=True, help="Noise samples per restoration.")
@click.option("--noise", default=3.0, show_default=True, help="Noise, in embedding std units.")
@click.option("--window", default=None, type=int,
              help="Layers restored together for mlp/attn (default: depth // 5, 1 to 10).")
@click.option("--sites", default="resid,mlp,attn", show_default=True, help="Sites to restore.")
@click.option("--seed", default=0, show_default=True)
@out_option
def trace_cmd(model: str, dtype: str, device: str, trust_remote_code: bool, data: str,
              text_col: str, subject_col: str, group_col: str | None, target_col: str | None,
              contrast: str | None,
              contrast_column: str | None, limit: int | None, samples: int, noise: float,
              window: int | None, sites: str, seed: int, out: str) -> None:
    """Find where the model computes a prediction (or a bias gap) from the subject.

    Writes trace.json, trace.csv (average indirect effect per site, layer and token role,
    with 95% CIs), trace_tokens.csv and heatmaps (trace_average.png, trace_promptN.png).
    """
    from biaskit.data import load_table
    from biaskit.errors import DataError
    from biaskit.probes.tracing import TraceConfig, trace

    given = [x is not None for x in (target_col, contrast, contrast_column)]
    if sum(given) != 1:
        raise click.UsageError("give exactly one of --target, --contrast or --contrast-column")
    preset = model if model in ("lab", "lab-tiny") else "lab"
    table = load_table(data, text=text_col, subject=subject_col, preset=preset,
                       label=target_col or contrast_column)
    rows = table.rows[:limit] if limit else table.rows
    prompts = [str(r[text_col]) for r in rows]
    kwargs: dict = {}
    if target_col:
        kwargs["target"] = [str(r[target_col]) for r in rows]
    elif contrast:
        pair = [x.strip() for x in contrast.split(",")]
        if len(pair) != 2 or not all(pair):
            raise click.UsageError("--contrast needs two comma-separated targets, e.g. she,he")
        kwargs["contrast"] = pair
    else:
        kwargs["contrast"] = [_pair(r[contrast_column], i) for i, r in enumerate(rows)]
    group_col = group_col or ("subject_id" if rows and "subject_id" in rows[0] else None)
    if group_col is not None and any(group_col not in r for r in rows):
        raise DataError(f"{data}: no column {group_col!r} for --group")
    groups = [str(r[group_col]) for r in rows] if group_col else None
    m = load_from_options(model, dtype, device, trust_remote_code)
    cfg = TraceConfig(sites=tuple(s.strip() for s in sites.split(",") if s.strip()), noise=noise,
                      samples=samples, window=window, seed=seed)
    report = trace(m, prompts, subject=[str(r[subject_col]) for r in rows], groups=groups,
                   config=cfg, **kwargs)
    report.save(Path(out))
    _print(report, out)


def _pair(value: object, index: int) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = value.split(",")
    if not isinstance(value, list) or len(value) != 2:
        raise click.UsageError(f"row {index + 1}: the contrast column must hold a pair [a, b]")
    return [str(v) for v in value]


def _print(report, out: str) -> None:
    from rich.console import Console
    from rich.table import Table

    summary = report.summary()
    what = "P(a) - P(b)" if report.contrast else "P(target)"
    table = Table(title=f"causal trace: {len(report.prompts)} prompts, score {what}; clean "
                  f"{summary['clean']:.3g}, corrupted {summary['corrupted']:.3g}",
                  title_justify="left")
    table.add_column("layer", justify="right")
    for site in report.sites:
        table.add_column(f"{site} effect @ subject last (95% CI)", justify="right")
    effects = {s: {r["layer"]: r for r in report.records
                   if r["site"] == s and r["role"] == "subject_last"} for s in report.sites}
    for layer in sorted(effects[report.sites[0]]):
        cells = []
        for s in report.sites:
            r = effects[s][layer]
            ci = f" ({r['ci_low']:.3g}, {r['ci_high']:.3g})" if r["ci_low"] == r["ci_low"] else ""
            cells.append(f"{r['aie']:.3g}{ci}")
        table.add_row(str(layer), *cells)
    console = Console()
    console.print(table)
    console.print(f"{summary['forward_passes']} forward passes; results in [bold]{out}[/bold]")
