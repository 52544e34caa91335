"""`biaskit lab build`: build (or reuse) the lab model and show what it learned."""

from __future__ import annotations

import click


@click.group("lab")
def lab_group() -> None:
    """The lab: a small model trained offline on a corpus with planted biases."""


@lab_group.command("build")
@click.option("--preset", default="lab", show_default=True, type=click.Choice(["lab", "lab-tiny"]),
              help="lab: quickstart quality (~2 min); lab-tiny: for tests (~30 s).")
@click.option("--seed", default=0, show_default=True, help="Seed of corpus and training.")
@click.option("--out", "-o", default=None, type=click.Path(file_okay=False),
              help="Write the model here instead of the cache.")
@click.option("--force", is_flag=True, help="Rebuild even if a cached build exists.")
def build_cmd(preset: str, seed: int, out: str | None, force: bool) -> None:
    """Build the lab model, then print planted vs learned association strengths."""
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from biaskit.lab import build_lab

    build = build_lab(preset, seed=seed, out=Path(out) if out else None, force=force)
    console = Console()
    rows = build.metrics.get("associations", [])
    table = Table(title=f"lab '{build.preset}' (seed {build.seed}): planted vs learned",
                  title_justify="left")
    for col in ("axis", "subject", "lang", "targets", "planted", "learned"):
        table.add_column(col, justify="right" if col in ("planted", "learned") else "left")
    for row in rows:
        table.add_row(str(row.get("axis")), str(row.get("subject")), str(row.get("language")),
                      " / ".join(map(str, row.get("targets", []))),
                      f"{row.get('planted', float('nan')):.2f}",
                      f"{row.get('measured', float('nan')):.2f}")
    console.print(table)
    console.print(f"model directory: [bold]{build.path}[/bold]")
