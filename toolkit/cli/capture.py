"""`biaskit capture`: save activations of a dataset, with a per-layer summary."""

from __future__ import annotations

from pathlib import Path

import click

from biaskit.cli.options import data_options, load_from_options, model_options, out_option


@click.command("capture")
@model_options
@data_options
@click.option("--layers", default="all", show_default=True, help="all, 3, 1,2,5 or 2-6.")
@click.option("--sites", default="resid", show_default=True,
              help="Comma-separated: resid, attn_out, mlp_out, mlp_key.")
@click.option("--positions", default="last", show_default=True,
              help="last, first, mean, subject_last, all, or a token index.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--store-dtype", default="float16", show_default=True,
              type=click.Choice(["float16", "bfloat16", "float32"]), help="Storage precision.")
@click.option("--max-memory-mb", default=2048.0, show_default=True,
              help="Above this size, activations stream to disk shard by shard.")
@out_option
def capture_cmd(model: str, dtype: str, device: str, trust_remote_code: bool, data: str,
                text_col: str, label_col: str | None, subject_col: str | None, layers: str,
                sites: str, positions: str, batch_size: int, store_dtype: str,
                max_memory_mb: float, out: str) -> None:
    """Capture activations of every text at the chosen layers, sites and positions.

    Writes the activation set (safetensors shards + activations.json + records.jsonl) to
    OUT, with summary.json and summary.csv: per layer and site, the mean vector norm and,
    when --label is given, how far apart the label groups' means are relative to the
    spread inside groups (between/within variance ratio; descriptive, not a probe).
    """
    from biaskit.activations import capture
    from biaskit.data import load_table
    from biaskit.positions import parse_position

    position = parse_position(positions)
    site_list = tuple(s.strip() for s in sites.split(",") if s.strip())
    if position == "subject_last" and subject_col is None:
        raise click.UsageError("--positions subject_last needs --subject COLUMN")
    preset = model if model in ("lab", "lab-tiny") else "lab"
    table = load_table(data, text=text_col, label=label_col, subject=subject_col, preset=preset)
    m = load_from_options(model, dtype, device, trust_remote_code)
    out_dir = Path(out)
    acts = capture(m, table.texts, layers=layers, sites=site_list, positions=position,
                   batch_size=batch_size, subject=table.subjects, records=table.rows,
                   dtype=store_dtype, max_memory_mb=max_memory_mb,
                   stream_dir=out_dir.parent / f".{out_dir.name}.stream")
    acts.save(out_dir)
    if acts.shards:  # streamed: the shards were copied into OUT; drop the staging copy
        import shutil

        shutil.rmtree(acts.shards[0].parent, ignore_errors=True)
    _summarise(acts, label_col, out_dir, data, m.name)


def _summarise(acts, label_col: str | None, out_dir: Path, data: str, model_name: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from biaskit.activation_summary import summarise
    from biaskit.io import write_csv, write_json

    labels = acts.column(label_col) if label_col else None
    rows = summarise(acts, labels)
    write_csv(out_dir / "summary.csv", rows)
    write_json(out_dir / "summary.json", {
        "model": model_name, "data": data, "n": len(acts), "layers": list(acts.layers),
        "sites": list(acts.sites), "label": label_col, "positions": acts.meta["positions"],
        "rows": rows})
    table = Table(title=f"captured {len(acts)} rows from {data} -> {out_dir}", title_justify="left")
    table.add_column("layer", justify="right")
    table.add_column("site")
    table.add_column("mean norm", justify="right")
    if labels is not None:
        table.add_column(f"{label_col}: between/within", justify="right")
    for row in rows:
        cells = [str(row["layer"]), row["site"], f"{row['mean_norm']:.2f}"]
        if labels is not None:
            cells.append(f"{row['between_within_ratio']:.3f}")
        table.add_row(*cells)
    Console().print(table)
