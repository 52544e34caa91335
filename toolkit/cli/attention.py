"""`biaskit attention`: attention from a target slot to a group term, per layer and head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from biaskit.cli.options import load_from_options, model_options, out_option


def parse_variant(text: str) -> object:
    """`base`, a folder, or `NAME=FOLDER`."""
    name, sep, path = text.partition("=")
    return {"name": name, "path": path} if sep and name and path else text


def parse_where(items: tuple[str, ...]) -> dict[str, Any] | None:
    """`--where COLUMN=VALUE` (repeatable; the same column twice means either value)."""
    out: dict[str, list[str]] = {}
    for item in items:
        column, sep, value = item.partition("=")
        if not sep or not column:
            raise click.UsageError(f"--where takes COLUMN=VALUE, got {item!r}")
        out.setdefault(column, []).append(value)
    return dict(out) or None


@click.command("attention")
@model_options
@click.option("--data", "-d", required=True,
              help="Template rows: a .jsonl/.json/.csv/.tsv file or lab:gender_professions.")
@click.option("--text", "text_col", default="text", show_default=True,
              help="Column with the text (it may mark {{term}} and [[target]]).")
@click.option("--group", "group_col", default="subject", show_default=True,
              help="Column with the group term (its first occurrence in the text).")
@click.option("--target", "target_col", default=None,
              help="Column with a word after the term whose last piece is the query "
                   "(default: the last token, which predicts the slot).")
@click.option("--append", "append_col", default=None,
              help="Column whose word(s) are appended as the query, one item each (lab: targets).")
@click.option("--layers", default="all", show_default=True, help="all, 3, 1,2,5 or 2-6.")
@click.option("--by", default=None, help="Also summarise per value of this column (e.g. language).")
@click.option("--variant", "variants", multiple=True,
              help="Repeatable: base, an adapter or edit folder, or NAME=FOLDER; the first is the "
                   "reference the others are compared with.")
@click.option("--where", "where", multiple=True, help="Keep rows with COLUMN=VALUE (repeatable).")
@click.option("--limit", default=None, type=int, help="Use this many rows, drawn with --seed.")
@click.option("--n-boot", default=1000, show_default=True, help="Bootstrap resamples for the CIs.")
@click.option("--alpha", default=0.05, show_default=True,
              help="False discovery rate under which a head counts as changed.")
@click.option("--seed", default=0, show_default=True)
@click.option("--batch-size", default=16, show_default=True)
@out_option
def attention_cmd(model: str, dtype: str, device: str, trust_remote_code: bool, data: str,
                  text_col: str, group_col: str, target_col: str | None, append_col: str | None,
                  layers: str, by: str | None, variants: tuple[str, ...], where: tuple[str, ...],
                  limit: int | None, n_boot: int, alpha: float, seed: int, batch_size: int,
                  out: str) -> None:
    """Attention weight from the target slot to the group term, per layer x head.

    Switches the model to eager attention for the analysis only. Writes attention.json,
    attention.csv (one row per layer and head, with 95% CIs and ranks), attention_items.csv
    and attention_heatmap.png into OUT (into OUT/<variant>/ with several variants, plus
    compare_<variant>.csv/.png: which heads changed against the first variant).
    """
    from rich.console import Console
    from rich.table import Table

    from biaskit.analysis.attention import attention_by_variant, attention_items
    from biaskit.models.variants import parse_variants
    from biaskit.recipes.data import load_rows

    if target_col and append_col:
        raise click.UsageError("give either --target or --append, not both")
    preset = model if model in ("lab", "lab-tiny") else "lab"
    rows = load_rows(data, preset=preset, where=parse_where(where), limit=limit, seed=seed)
    parsed = parse_variants([parse_variant(v) for v in variants] or None)
    m = load_from_options(model, dtype, device, trust_remote_code)
    items = attention_items(m.tokenizer, rows, text=text_col, group=group_col, target=target_col,
                            append=append_col)
    reports, comparisons = attention_by_variant(m, items, parsed, layers=layers, by=by, n_boot=n_boot,
                                                seed=seed, alpha=alpha, batch_size=batch_size)
    console = Console()
    for name, report in reports.items():
        report.save(Path(out) / name if len(reports) > 1 else Path(out))
        table = Table(title=f"Heads attending most to the group term ({name}, {len(items)} items)")
        for col in ("rank", "layer", "head", "mean", "95% CI", "uniform"):
            table.add_column(col, justify="right")
        for r in report.top_heads(10):
            table.add_row(str(r["rank"]), str(r["layer"]), str(r["head"]), f"{r['mean']:.3f}",
                          f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]", f"{r['uniform']:.3f}")
        console.print(table)
    for cmp in comparisons:
        cmp.save(Path(out))
        changed = cmp.changed()
        heads = ", ".join(f"L{r['layer']}.H{r['head']} ({r['diff']:+.3f})" for r in changed[:10])
        console.print(f"{cmp.variant} vs {cmp.reference}: {len(changed)} heads changed"
                      + (f": {heads}" if heads else ""))
    console.print(f"results in [bold]{out}[/bold]")
