"""`biaskit probe`: per-layer linear probes with control-task selectivity."""

from __future__ import annotations

from pathlib import Path

import click

from biaskit.cli.options import data_options, load_from_options, model_options, out_option


@click.command("probe")
@model_options
@data_options
@click.option("--layers", default="all", show_default=True, help="all, 3, 1,2,5 or 2-6.")
@click.option("--sites", default="resid", show_default=True, help="Comma-separated sites.")
@click.option("--positions", default="last", show_default=True,
              help="last, first, mean, subject_last, or a token index.")
@click.option("--cv", default=5, show_default=True, help="Cross-validation folds.")
@click.option("--control-by", default=None,
              help="Column giving each row's word type for the control task (e.g. subject).")
@click.option("--groups", default=None,
              help="Column for group-aware folds (e.g. subject or template).")
@click.option("--C", "C", default="1.0", show_default=True, callback=lambda _c, _p, v: parse_c(v),
              help="Inverse L2 strength; 'auto' or a list (0.01,0.1,1) chooses it per layer "
                   "and fold by inner cross-validation.")
@click.option("--mdl", is_flag=True, help="Also compute MDL (online codelength).")
@click.option("--permutations", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also probe N shuffles of the labels: chance accuracy and a p-value per layer.")
@click.option("--seed", default=0, show_default=True)
@click.option("--batch-size", default=32, show_default=True)
@out_option
def probe_cmd(model: str, dtype: str, device: str, trust_remote_code: bool, data: str,
              text_col: str, label_col: str | None, subject_col: str | None, layers: str,
              sites: str, positions: str, cv: int, control_by: str | None, groups: str | None,
              C: float | str | list[float], mdl: bool, permutations: int, seed: int,  # noqa: N803
              batch_size: int, out: str) -> None:
    """Decode --label from each layer; report accuracy, control accuracy and selectivity.

    Writes probe.json, probe.csv (one row per layer and site, with 95% CIs over folds),
    probe_directions.safetensors and probe.png into OUT.
    """
    from rich.console import Console

    from biaskit.activations import capture
    from biaskit.data import load_table
    from biaskit.positions import parse_position
    from biaskit.probes.layers import probe_layers

    if label_col is None:
        raise click.UsageError("probe needs --label COLUMN (what to decode)")
    position = parse_position(positions)
    if position == "all":
        raise click.UsageError("probe needs one row per text: use last, first, mean, "
                               "subject_last or an index")
    if position == "subject_last" and subject_col is None:
        raise click.UsageError("--positions subject_last needs --subject COLUMN")
    preset = model if model in ("lab", "lab-tiny") else "lab"
    table = load_table(data, text=text_col, label=label_col, subject=subject_col, preset=preset)
    for column in (control_by, groups):
        if column is not None and column not in table.rows[0]:
            raise click.UsageError(f"no column {column!r} in {data}")
    m = load_from_options(model, dtype, device, trust_remote_code)
    acts = capture(m, table.texts, layers=layers, sites=tuple(s.strip() for s in sites.split(",")),
                   positions=position, subject=table.subjects, records=table.rows,
                   batch_size=batch_size)
    report = probe_layers(acts, label_col, cv=cv, control_by=control_by, groups=groups, C=C,
                          seed=seed, mdl=mdl, permutations=permutations)
    report.save(Path(out))
    console = Console()
    console.print(report.as_table())
    console.print(f"best layer: [bold]{report.best_layer}[/bold] ({report.best_site}); "
                  f"results in [bold]{out}[/bold]")


def parse_c(value: str) -> float | str | list[float]:
    """`--C`: a number, `auto`, or comma-separated numbers (the grid to choose from)."""
    if value == "auto":
        return value
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number, a list of numbers or 'auto'") from None
    return numbers[0] if len(numbers) == 1 else numbers
