"""`biaskit evaluate`: run evaluation suites on a model (optionally edited) and save Scores."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from biaskit.cli.options import load_from_options, model_options, out_option
from biaskit.errors import DataError

MAX_ROWS = 40  # table rows per suite; everything is in summary.csv


@click.command("evaluate")
@model_options
@click.option("--suite", "-s", "suites", multiple=True, required=True,
              help="Suite to run (repeatable): crows_pairs, bbq, esbbq, mbbq, stereoset, winogender, "
                   "winobias, templates, perplexity, knowledge, lab:gender_bias, lab:bias, "
                   "lab:knowledge.")
@click.option("--data", "-d", "data", multiple=True,
              help="Data for the suite: a file, folder or hf:<id>. With several suites give "
                   "SUITE=PATH (repeatable). Default: the lab's data for lab suites, "
                   "$BIASKIT_SHARED_DATASETS for the public benchmarks.")
@click.option("--deltas", default=None, type=click.Path(exists=True),
              help="A saved edit (directory or deltas.safetensors from EditResult.save) to apply.")
@click.option("--limit", default=None, type=int, help="First N items (of each file) per suite.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--n-boot", default=1000, show_default=True, help="Bootstrap replicates for CIs.")
@click.option("--seed", default=0, show_default=True, help="Bootstrap seed.")
@click.option("--option", "-O", "extra", multiple=True,
              help="Suite option KEY=VALUE (repeatable), e.g. -O language=fr -O method=pll.")
@out_option
def evaluate_cmd(model: str, dtype: str, device: str, trust_remote_code: bool, suites: tuple[str, ...],
                 data: tuple[str, ...], deltas: str | None, limit: int | None,
                 batch_size: int, n_boot: int, seed: int, extra: tuple[str, ...], out: str) -> None:
    """Run one or more evaluation suites and write OUT/<suite>/scores.json + items.csv.

    Also writes OUT/summary.csv (every metric of every suite, tidy) and prints a table
    of the main metrics with their 95% bootstrap CIs.
    """
    from rich.console import Console

    from biaskit.eval import SUITES, run_suite
    from biaskit.io import write_csv

    for name in suites:
        SUITES.get(name)  # fail on a typo before loading anything
    per_suite = _data_per_suite(suites, data)
    for path in per_suite.values():  # fail on a missing file before loading the model
        if not path.startswith(("hf:", "lab:")) and not Path(path).expanduser().exists():
            raise DataError(f"data path {path!r} does not exist")
    options = _parse_options(extra)
    m = load_from_options(model, dtype, device, trust_remote_code)  # merges --adapter
    if deltas:
        from biaskit.editors.result import apply_saved

        apply_saved(m, deltas)
    console = Console()
    rows: list[dict[str, Any]] = []
    for name in suites:
        opts = {"batch_size": batch_size, "n_boot": n_boot, "seed": seed, **options.get(name, {}),
                **options.get("*", {})}
        if limit is not None:
            opts["limit"] = limit
        scores = run_suite(name, m, per_suite.get(name), **_accepted(name, opts))
        scores.save(Path(out) / name.replace(":", "_"))
        rows.extend(scores.rows())
        console.print(scores_table(scores))
    write_csv(Path(out) / "summary.csv", rows)
    console.print(f"results in [bold]{out}[/bold] (summary.csv, <suite>/scores.json, <suite>/items.csv)")


def _data_per_suite(suites: tuple[str, ...], data: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in data:
        name, sep, path = value.partition("=")
        if sep and name in suites:
            out[name] = path
        elif len(suites) == 1:
            out[suites[0]] = value
        else:
            raise click.UsageError(f"with several suites, give --data SUITE=PATH (got {value!r})")
    return out


def _parse_options(extra: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """`KEY=VALUE` or `SUITE.KEY=VALUE` -> {suite or "*": {key: value}} with typed values."""
    out: dict[str, dict[str, Any]] = {}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--option needs KEY=VALUE (got {item!r})")
        suite, _, key = key.rpartition(".") if "." in key else ("*", "", key)
        out.setdefault(suite or "*", {})[key] = _typed(value)
    return out


def _typed(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _accepted(name: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Drop the shared options a suite does not take (e.g. `limit` for lab:gender_bias)."""
    import inspect

    from biaskit.eval import SUITES

    params = inspect.signature(SUITES.get(name).function()).parameters
    shared = {"batch_size", "n_boot", "seed", "limit"}
    return {k: v for k, v in opts.items() if k in params or k not in shared}


def load_adapter(model: Any, path: str) -> Any:
    """The model with a peft adapter merged into its weights (see `biaskit.models.variants`)."""
    from biaskit.models.variants import merge_adapter

    return merge_adapter(model, path)


def scores_table(scores: Any, max_rows: int = MAX_ROWS) -> Any:
    """A rich table of a Scores: the least-grouped metrics first, then one level more."""
    from rich.table import Table

    table = Table(title=f"{scores.suite} on {scores.model}", title_justify="left")
    for col, justify in (("metric", "left"), ("group", "left"), ("value", "right"),
                         ("95% CI", "right"), ("n", "right")):
        table.add_column(col, justify=justify)
    ranked = sorted(scores.metrics, key=lambda m: len(m.groups))  # stable: data order kept
    top = len(ranked[0].groups) if ranked else 0
    shown = [m for m in ranked if len(m.groups) <= top + 1][:max_rows]
    for m in shown:
        group = ", ".join(f"{k}={v}" for k, v in m.groups) or "all"
        table.add_row(m.name, group, _fmt(m.value), f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]", str(m.n))
    if len(scores.metrics) > len(shown):
        table.caption = f"{len(scores.metrics) - len(shown)} more rows in summary.csv"
    return table


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3f}" if abs(x) < 1000 else f"{x:.4g}"
