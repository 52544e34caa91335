"""`embed` step: do texts of different groups sit apart inside the model, layer by layer?

Embeds labelled texts at every requested layer (mean or last token), for the base model
and any variants (adapters, edits), measures group separation in the full space (cosine
silhouette, kNN purity, with CIs and the shuffled-label null) and draws PCA / t-SNE /
UMAP maps. Writes embeddings.json, embedding_metrics.csv, embedding_coordinates.csv and
PNGs (see docs/analysis/embeddings.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, data_param, param


@dataclass(frozen=True)
class EmbedParams:
    """Parameters of the `embed` step (see docs/analysis/embeddings.md)."""

    data: str = data_param(help="Labelled texts: lab:<name>, hf:<id>, data/... or a file.")
    label: str = param(help="Column whose groups are compared (e.g. gender, language, profile).")
    text: str = param("text", help="Column holding the text.")
    id: str | None = param(None, help="Column identifying each text in the CSVs (default: row index).")
    clusters: str | None = param(None, help="Column of texts that belong together (respondent, "
                                            "template, prompt): CIs and the null respect them.")
    layers: str | int | tuple[int, ...] = param("all", help="all, a layer, a list, or '2-5'.")
    pooling: str = param("mean", help="mean (over the text's tokens, padding excluded) or last token.")
    methods: tuple[str, ...] = param(("pca", "tsne", "umap"), help="2-D maps: pca, tsne, umap.")
    reduce_layers: str | int | tuple[int, ...] | None = param(
        "all", help="Layers that get maps (all, a subset of `layers`, or null for none).")
    variants: Any = param(None, help="Model variants to compare: a list of base, adapter or edit "
                                     "folders, {name, path}, a finetune step's name or "
                                     "${finetune.adapters}; default: the model as loaded.")
    k: int = param(10, help="Neighbours for kNN purity.")
    n_boot: int = param(1000, help="Bootstrap resamples for the 95% CIs.")
    null_repeats: int = param(20, help="Label shuffles for the null (what no separation looks like).")
    center: bool = param(True, help="Subtract the mean embedding before cosine distances.")
    max_texts: int | None = param(2000, help="Above this many texts, draw this many with the seed.")
    pca_before: int | None = param(50, help="Principal components t-SNE and UMAP start from.")
    perplexity: float = param(30.0, help="t-SNE perplexity.")
    n_neighbors: int = param(15, help="UMAP neighbourhood size.")
    min_dist: float = param(0.1, help="UMAP minimum distance.")
    batch_size: int = param(32, help="Texts per forward pass.")
    where: dict[str, Any] | None = param(None, help="Keep rows whose column equals a value "
                                                    "(or one of a list), e.g. {language: en}.")
    limit: int | None = param(None, help="Use this many rows, drawn with the seed.")
    seed: int | None = param(None, help="Seed (default: the recipe's).")


def _config(p: EmbedParams, seed: int) -> Any:
    from biaskit.analysis.embeddings import EmbeddingConfig
    from biaskit.analysis.embeddings_metrics import SeparationConfig
    from biaskit.analysis.embeddings_reduce import ReductionConfig

    return EmbeddingConfig(
        layers=p.layers, pooling=p.pooling, methods=p.methods, reduce_layers=p.reduce_layers,
        max_texts=p.max_texts, seed=seed, batch_size=p.batch_size,
        separation=SeparationConfig(k=p.k, n_boot=p.n_boot, null_repeats=p.null_repeats,
                                    center=p.center),
        reduction=ReductionConfig(pca_before=p.pca_before, tsne_perplexity=p.perplexity,
                                  umap_n_neighbors=p.n_neighbors, umap_min_dist=p.min_dist,
                                  random_state=seed))


def check(p: EmbedParams, ctx: CheckContext) -> None:
    """Pooling and methods are known; counts are positive."""
    from biaskit.analysis.embeddings import POOLINGS
    from biaskit.analysis.embeddings_reduce import METHODS

    if p.pooling not in POOLINGS:
        raise ParamError("pooling", f"key 'pooling': use {' or '.join(POOLINGS)}, not {p.pooling!r}")
    for i, m in enumerate(p.methods):
        if m not in METHODS:
            raise ParamError(f"methods.{i}", f"key 'methods': unknown method {m!r}; "
                                             f"methods: {', '.join(METHODS)}")
    for key in ("k", "batch_size"):
        if getattr(p, key) < 1:
            raise ParamError(key, f"key {key!r}: must be at least 1")
    if p.max_texts is not None and p.max_texts < 3:
        raise ParamError("max_texts", "key 'max_texts': must be at least 3")


def run(ctx: StepContext, p: EmbedParams) -> dict[str, Any]:
    """Embed, measure separation, draw maps; write the files into the step folder."""
    from biaskit.analysis.embeddings import embedding_analysis
    from biaskit.models.variants import resolve_variants
    from biaskit.recipes.data import check_columns, load_rows

    rows = load_rows(p.data, preset=ctx.lab_preset, where=p.where, limit=p.limit, seed=ctx.seed)
    check_columns(rows, [p.text, p.label, p.id, p.clusters], p.data)
    variants = resolve_variants(ctx, p.variants)
    report = embedding_analysis(
        ctx.model, [str(r[p.text]) for r in rows], [r[p.label] for r in rows], label=p.label,
        ids=[r[p.id] for r in rows] if p.id else None,
        clusters=[r[p.clusters] for r in rows] if p.clusters else None, variants=variants,
        config=_config(p, ctx.seed), progress=ctx.progress)
    report.save(ctx.out)
    best = report.best_layer("silhouette")
    sil, knn = report.record(best, "silhouette"), report.record(best, "knn_purity")
    return {"best_layer": best, "silhouette": sil["value"], "silhouette_null": sil["null_mean"],
            "knn_purity": knn["value"], "n": int(sil["n"]), "variants": list(report.variants),
            "groups": list(report.groups)}


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    return (f"best layer {out['best_layer']}: silhouette {out['silhouette']:.2f} "
            f"(shuffled {out['silhouette_null']:.2f}), kNN purity {out['knn_purity']:.2f}")


STEP = StepType(
    kind="embed", params=EmbedParams, run=run, check=check, summary=summary,
    description="Sentence embeddings per layer: group separation (silhouette, kNN purity, "
                "shuffled null) and PCA/t-SNE/UMAP maps, for the model and its variants.",
    outputs={"best_layer": int, "silhouette": float, "silhouette_null": float,
             "knn_purity": float, "n": int, "variants": list[str], "groups": list[str]},
)
