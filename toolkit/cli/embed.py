"""`biaskit embed`: per-layer sentence embeddings, group separation and 2-D maps."""

from __future__ import annotations

from pathlib import Path

import click

from biaskit.cli.options import load_from_options, model_options, out_option


def _variant(text: str) -> object:
    """`base`, a folder, or `name=folder`."""
    name, sep, path = text.partition("=")
    return {"name": name, "path": path} if sep and name and path else text


@click.command("embed")
@model_options
@click.option("--data", "-d", required=True,
              help="A .jsonl/.json/.csv/.tsv file, or a lab dataset: lab:gender_sentences.")
@click.option("--text", "text_col", default="text", show_default=True, help="Column holding the text.")
@click.option("--label", "label_col", required=True, help="Column whose groups are compared.")
@click.option("--id", "id_col", default=None, help="Column identifying each text (default: row index).")
@click.option("--clusters", "cluster_col", default=None,
              help="Column of texts that belong together (respondent, template, prompt).")
@click.option("--layers", default="all", show_default=True, help="all, 3, 1,2,5 or 2-6.")
@click.option("--pooling", type=click.Choice(["mean", "last"]), default="mean", show_default=True,
              help="Mean over the text's tokens (padding excluded) or the last token.")
@click.option("--methods", default="pca,tsne,umap", show_default=True,
              help="2-D maps, comma-separated: pca, tsne, umap (empty: none).")
@click.option("--reduce-layers", default="all", show_default=True,
              help="Layers that get maps: all, 3, 1,2 or 2-4.")
@click.option("--variant", "variants", multiple=True,
              help="Repeatable: base, an adapter or edit folder, or NAME=FOLDER.")
@click.option("--k", default=10, show_default=True, help="Neighbours for kNN purity.")
@click.option("--n-boot", default=1000, show_default=True, help="Bootstrap resamples for the CIs.")
@click.option("--null-repeats", default=20, show_default=True, help="Label shuffles for the null.")
@click.option("--no-center", is_flag=True, help="Do not subtract the mean embedding before cosines.")
@click.option("--max-texts", default=2000, show_default=True,
              help="Above this many texts, draw this many with --seed.")
@click.option("--perplexity", default=30.0, show_default=True, help="t-SNE perplexity.")
@click.option("--n-neighbors", default=15, show_default=True, help="UMAP neighbourhood size.")
@click.option("--min-dist", default=0.1, show_default=True, help="UMAP minimum distance.")
@click.option("--seed", default=0, show_default=True)
@click.option("--batch-size", default=32, show_default=True)
@out_option
def embed_cmd(model: str, dtype: str, device: str, trust_remote_code: bool, data: str,
              text_col: str, label_col: str, id_col: str | None, cluster_col: str | None,
              layers: str, pooling: str, methods: str, reduce_layers: str,
              variants: tuple[str, ...], k: int, n_boot: int,
              null_repeats: int, no_center: bool, max_texts: int, perplexity: float,
              n_neighbors: int, min_dist: float, seed: int, batch_size: int, out: str) -> None:
    """Embed labelled texts per layer and measure how far apart --label's groups sit.

    Writes embeddings.json, embedding_metrics.csv (silhouette and kNN purity per layer,
    with 95% CIs and the shuffled-label null), embedding_coordinates.csv (2-D maps, one
    row per text, layer and method) and PNGs into OUT.
    """
    from rich.console import Console

    from biaskit.analysis.embeddings import EmbeddingConfig, embedding_analysis
    from biaskit.analysis.embeddings_metrics import SeparationConfig
    from biaskit.analysis.embeddings_reduce import ReductionConfig
    from biaskit.data import load_table
    from biaskit.models.variants import parse_variants

    preset = model if model in ("lab", "lab-tiny") else "lab"
    table = load_table(data, text=text_col, label=label_col, preset=preset)
    for column in (id_col, cluster_col):
        if column is not None and column not in table.rows[0]:
            raise click.UsageError(f"no column {column!r} in {data}")
    config = EmbeddingConfig(
        layers=layers, pooling=pooling, methods=tuple(m for m in methods.split(",") if m.strip()),
        reduce_layers=reduce_layers, max_texts=max_texts, seed=seed, batch_size=batch_size,
        separation=SeparationConfig(k=k, n_boot=n_boot, null_repeats=null_repeats,
                                    center=not no_center),
        reduction=ReductionConfig(tsne_perplexity=perplexity, umap_n_neighbors=n_neighbors,
                                  umap_min_dist=min_dist, random_state=seed))
    parsed = parse_variants([_variant(v) for v in variants]) if variants else None
    m = load_from_options(model, dtype, device, trust_remote_code)
    report = embedding_analysis(m, table.texts, table.labels, label=label_col,
                                ids=[r[id_col] for r in table.rows] if id_col else None,
                                clusters=[r[cluster_col] for r in table.rows] if cluster_col else None,
                                variants=parsed, config=config)
    report.save(Path(out))
    console = Console()
    for variant in report.variants:
        console.print(report.as_table(variant))
    console.print(f"best layer (silhouette): [bold]{report.best_layer()}[/bold]; "
                  f"results in [bold]{out}[/bold]")
