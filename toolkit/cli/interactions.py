"""`biaskit interactions summary|split`: conversation logs by profile group."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

F = Callable[..., Any]


def _split_options(func: F) -> F:
    for option in reversed([
        click.argument("log"),
        click.option("--by", "by", multiple=True,
                     help="Profile field(s) to group by: --by education --by age_group, or "
                          "--by education,age_group. None: one group, 'all'."),
        click.option("--min-size", default=20, show_default=True,
                     help="Groups with fewer conversations are skipped (and listed)."),
        click.option("--heldout", default=0.2, show_default=True,
                     help="Share of each group's respondents held out."),
        click.option("--seed", default=0, show_default=True, help="Seed of the held-out draw."),
        click.option("--salt-file", default=None, type=click.Path(dir_okay=False, exists=True),
                     help="File whose first line is the pseudonymisation salt (default: "
                          "$BIASKIT_SALT, else a public default with a warning)."),
    ]):
        func = option(func)
    return func


@click.group("interactions")
def interactions_group() -> None:
    """Conversation logs with respondent profiles: summarise and split by profile.

    LOG is a JSONL file, one conversation per line (respondent_id, profile, messages),
    or lab:interactions for the lab's synthetic logs. Respondent ids are pseudonymised
    (HMAC-SHA256 with a salt) as they are read; no output holds a raw id.
    """


@interactions_group.command("summary")
@_split_options
@click.option("--out", "-o", default=None, type=click.Path(file_okay=False),
              help="Also write summary.csv and profile.csv (tidy) here.")
def summary_cmd(log: str, by: tuple[str, ...], min_size: int, heldout: float, seed: int,
                salt_file: str | None, out: str | None) -> None:
    """Check LOG and print per-group counts: conversations, messages, tokens, train/held-out."""
    from biaskit.data.interactions import profile_counts
    from biaskit.io import write_csv

    convs, split = _load_and_split(log, by, min_size, heldout, seed, salt_file)
    _print(split.summary(), f"{log}: {len(convs)} conversations")
    if out is not None:
        write_csv(Path(out) / "summary.csv", split.summary())
        write_csv(Path(out) / "profile.csv", profile_counts(convs))
        click.echo(f"summary.csv and profile.csv written to {out}")


@interactions_group.command("split")
@_split_options
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False),
              help="Folder for <group>/train.jsonl, <group>/heldout.jsonl, summary.csv, "
                   "split.json.")
def split_cmd(log: str, by: tuple[str, ...], min_size: int, heldout: float, seed: int,
              salt_file: str | None, out: str) -> None:
    """Write one JSONL sub-corpus per profile group (train and held-out) and summary.csv."""
    convs, split = _load_and_split(log, by, min_size, heldout, seed, salt_file)
    split.save(out)
    _print(split.summary(), f"{log}: {len(convs)} conversations")
    click.echo(f"{len(split.groups)} group(s) written to {out}"
               + (f"; {len(split.skipped)} skipped (< {min_size} conversations)"
                  if split.skipped else ""))


def _load_and_split(log: str, by: tuple[str, ...], min_size: int, heldout: float, seed: int,
                    salt_file: str | None) -> tuple[list[Any], Any]:
    from biaskit.data.interactions import read_interactions, split_by

    fields = [f.strip() for item in by for f in item.split(",") if f.strip()]
    salt = None
    if salt_file is not None:
        lines = Path(salt_file).read_text(encoding="utf-8").splitlines()
        salt = lines[0].strip() if lines else ""
    convs = read_interactions(log, salt=salt, required_profile=fields)
    return convs, split_by(convs, fields, min_size=min_size, heldout=heldout, seed=seed)


def _print(rows: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    columns = ("group", "status", "respondents", "conversations", "messages",
               "assistant_tokens", "train", "heldout")
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="left" if column in ("group", "status") else "right",
                         overflow="fold")
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    console = Console()
    if not console.is_terminal:  # a pipe or a file: no terminal width to respect
        console = Console(width=200)
    console.print(table)
