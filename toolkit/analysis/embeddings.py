"""Sentence embeddings per layer: do texts of different groups live in different places?

For labelled texts, each layer's hidden states are pooled into one vector per text (the
mask-aware mean over its tokens, or its last token) with `biaskit.activations.capture`,
for the base model and for any variant (a LoRA adapter, an edit). Separation of the
groups is measured in the full space of each layer (`embeddings_metrics`: cosine
silhouette and kNN purity, bootstrap CIs, shuffled-label null), and 2-D maps (PCA,
t-SNE, UMAP) are drawn for looking. Everything is written tidily for R and pandas.

    report = embedding_analysis(model, texts, labels, config=EmbeddingConfig(methods=("pca",)))
    report.save("runs/embed")
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from biaskit.analysis.embeddings_metrics import METRICS, SeparationConfig, separation
from biaskit.analysis.embeddings_reduce import ReductionConfig, check_methods, reduce
from biaskit.errors import ConfigError, DataError, LayerError

log = logging.getLogger(__name__)

POOLINGS = ("mean", "last")
BASE = "base"


@dataclass(frozen=True)
class EmbeddingConfig:
    """Settings of an embedding analysis.

    Attributes:
        layers: Layers to embed: `all`, an index, a list, or a string such as `"2-5"`.
        pooling: `mean` (average over the text's tokens, padding excluded) or `last`
            (the last token, which has read the whole text in a causal model).
        methods: 2-D maps to draw: any of `pca`, `tsne`, `umap`.
        reduce_layers: Layers that get maps (`all` or a subset of `layers`; None: no
            maps). Metrics are always computed for every layer; maps cost more.
        max_texts: Above this many texts, this many are drawn at random with `seed`
            (None: use all). The draw is recorded in the report.
        seed: Seed of the subsample, the bootstrap and the label shuffles.
        batch_size: Texts per forward pass.
        separation: Neighbours, bootstrap and null settings of the metrics.
        reduction: Parameters of PCA, t-SNE and UMAP.
    """

    layers: str | int | tuple[int, ...] = "all"
    pooling: str = "mean"
    methods: tuple[str, ...] = ("pca", "tsne", "umap")
    reduce_layers: str | int | tuple[int, ...] | None = "all"
    max_texts: int | None = 2000
    seed: int = 0
    batch_size: int = 32
    separation: SeparationConfig = field(default_factory=SeparationConfig)
    reduction: ReductionConfig = field(default_factory=ReductionConfig)

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {', '.join(POOLINGS)}, not {self.pooling!r}")
        object.__setattr__(self, "methods", check_methods(self.methods))
        if self.max_texts is not None and self.max_texts < 3:
            raise ConfigError(f"max_texts must be at least 3, not {self.max_texts}")


@dataclass(frozen=True)
class EmbeddingReport:
    """Separation per variant and layer, and 2-D coordinates per text.

    Attributes:
        label: The label column whose groups are compared.
        layers: Layers embedded.
        variants: Variant names, in order (`base` when no variant was given).
        groups: Group names (labels as strings, sorted).
        metrics: Tidy rows: `variant`, `layer`, `metric`, `value`, `ci_low`, `ci_high`,
            `null_mean`, `null_low`, `null_high`, `p_value`, `n`, `k`, `groups`.
        coordinates: Tidy rows: `id`, `variant`, `layer`, `method`, `x`, `y`, `label`.
        config: Settings, model, and the subsample (`n_input`, `n_used`, `seed`).
    """

    label: str
    layers: tuple[int, ...]
    variants: tuple[str, ...]
    groups: tuple[str, ...]
    metrics: list[dict[str, Any]]
    coordinates: list[dict[str, Any]]
    config: dict[str, Any] = field(default_factory=dict)

    def record(self, layer: int, metric: str = "silhouette", variant: str | None = None
               ) -> dict[str, Any]:
        """The metric row of one layer (default variant: the first)."""
        variant = self.variants[0] if variant is None else variant
        for r in self.metrics:
            if r["layer"] == layer and r["metric"] == metric and r["variant"] == variant:
                return r
        raise LayerError(f"no {metric!r} for layer {layer} of variant {variant!r}; "
                         f"layers: {list(self.layers)}, variants: {list(self.variants)}")

    def best_layer(self, metric: str = "silhouette", variant: str | None = None) -> int:
        """The layer where `metric` is highest (ties: the earliest layer)."""
        return max(self.layers, key=lambda layer: (self.record(layer, metric, variant)["value"],
                                                   -layer))

    def save(self, out: Any) -> Any:
        """Write embeddings.json, the two tidy CSVs and the PNGs into folder `out`."""
        from biaskit.analysis.embeddings_plot import save_report

        return save_report(self, out)

    def as_table(self, variant: str | None = None) -> Any:
        """A rich table: per layer, each metric with its CI and the null's mean."""
        from rich.table import Table

        variant = self.variants[0] if variant is None else variant
        table = Table(title=f"separation of '{self.label}' ({variant}; null = shuffled labels)")
        table.add_column("layer", justify="right")
        for m in ("silhouette", "knn_purity"):
            table.add_column(f"{m} [95% CI]", justify="right")
            table.add_column("null", justify="right")
        for layer in self.layers:
            cells = [str(layer)]
            for m in ("silhouette", "knn_purity"):
                r = self.record(layer, m, variant)
                cells += [f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]",
                          f"{r['null_mean']:.3f}"]
            table.add_row(*cells)
        return table


def subsample_indices(n: int, max_texts: int | None, seed: int) -> list[int]:
    """Indices of the texts kept: all, or `max_texts` drawn with `seed` (in input order)."""
    if max_texts is None or n <= max_texts:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), max_texts))


def embed_texts(model: Any, texts: Sequence[str], *, layers: Any = "all", pooling: str = "mean",
                batch_size: int = 32, progress: bool = True) -> tuple[tuple[int, ...], np.ndarray]:
    """Pooled residual-stream vectors of `texts` at `layers`: (layers, array [n, L, d]).

    Stored in float32 so that cosines of nearly parallel vectors stay accurate.
    """
    import torch

    from biaskit.activations import capture

    acts = capture(model, list(texts), layers=layers, sites=("resid",), positions=pooling,
                   batch_size=batch_size, dtype=torch.float32, progress=progress)
    return tuple(acts.layers), acts.tensor("resid").float().numpy()


def embed_variants(model: Any, texts: Sequence[str], variants: Sequence[Any] | None, *,
                   layers: Any = "all", pooling: str = "mean", batch_size: int = 32,
                   progress: bool = True) -> tuple[tuple[int, ...], dict[str, np.ndarray]]:
    """Embeddings of the same texts under each variant (weights restored after each).

    Args:
        model: The loaded model.
        texts: The texts.
        variants: `biaskit.models.variants.Variant`s (None or empty: the model as is,
            named `base`).
        layers: Layers to embed.
        pooling: `mean` or `last`.
        batch_size: Texts per forward pass.
        progress: Show progress bars.
    """
    if not variants:
        found, x = embed_texts(model, texts, layers=layers, pooling=pooling,
                               batch_size=batch_size, progress=progress)
        return found, {BASE: x}
    from biaskit.models.variants import apply_variant

    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"variant names must be distinct: {names}")
    out: dict[str, np.ndarray] = {}
    found: tuple[int, ...] = ()
    for variant in variants:
        log.info("embedding %d texts with variant %s", len(texts), variant.name)
        with apply_variant(model, variant) as m:
            found, out[variant.name] = embed_texts(m, texts, layers=layers, pooling=pooling,
                                                   batch_size=batch_size, progress=progress)
    return found, out


def analyse_embeddings(embeddings: Mapping[str, np.ndarray], layers: Sequence[int],
                       labels: Sequence[Any], *, label: str = "label",
                       ids: Sequence[Any] | None = None,
                       clusters: Sequence[Any] | None = None,
                       config: EmbeddingConfig = EmbeddingConfig(),
                       meta: Mapping[str, Any] | None = None,
                       progress: bool = False) -> EmbeddingReport:
    """Separation metrics and 2-D maps of embeddings already computed.

    Args:
        embeddings: Variant name -> array [n, len(layers), d] (same texts, same order).
        layers: Model layer of each slot of axis 1.
        labels: Group of each text.
        label: Name of the label column (for the report).
        ids: Text ids written to the coordinates (default: 0..n-1).
        clusters: Cluster of each text when texts are not independent (respondent,
            prompt, template): CIs and the null then respect the clusters.
        config: Metric and map settings (`layers`, `pooling`, `max_texts` were used upstream).
        meta: Extra entries for the report's config (model, subsample...).
        progress: Show a progress bar over variants x layers.
    """
    from biaskit.progress import track

    layers = tuple(int(x) for x in layers)
    labels = [str(v) for v in labels]
    ids = list(range(len(labels))) if ids is None else list(ids)
    if not embeddings:
        raise DataError("no embeddings to analyse")
    for name, x in embeddings.items():
        if x.ndim != 3 or x.shape[0] != len(labels) or x.shape[1] != len(layers):
            raise DataError(f"variant {name!r}: embeddings of shape {tuple(x.shape)} for "
                            f"{len(labels)} texts and {len(layers)} layers")
    if len(ids) != len(labels):
        raise DataError(f"{len(ids)} ids for {len(labels)} texts")
    map_layers = _pick_layers(config.reduce_layers, layers) if config.methods else ()
    metrics: list[dict[str, Any]] = []
    coords: list[dict[str, Any]] = []
    jobs = [(v, slot, layer) for v in embeddings for slot, layer in enumerate(layers)]
    for variant, slot, layer in track(jobs, "embedding analysis", enabled=progress):
        x = embeddings[variant][:, slot]
        for row in separation(x, labels, config.separation, seed=config.seed,
                              clusters=clusters):
            metrics.append({"variant": variant, "layer": layer, **row})
        if layer in map_layers:
            for method in config.methods:
                xy = reduce(x, method, config.reduction)
                coords.extend({"id": i, "variant": variant, "layer": layer, "method": method,
                               "x": float(a), "y": float(b), "label": g}
                              for i, (a, b), g in zip(ids, xy, labels, strict=True))
    settings = asdict(config)
    settings["methods"] = list(config.methods)
    return EmbeddingReport(label=label, layers=layers, variants=tuple(embeddings),
                           groups=tuple(sorted(set(labels))), metrics=metrics, coordinates=coords,
                           config={**settings, "metrics": list(METRICS), **dict(meta or {})})


def embedding_analysis(model: Any, texts: Sequence[str], labels: Sequence[Any], *,
                       label: str = "label", ids: Sequence[Any] | None = None,
                       clusters: Sequence[Any] | None = None,
                       variants: Sequence[Any] | None = None,
                       config: EmbeddingConfig = EmbeddingConfig(),
                       progress: bool = True) -> EmbeddingReport:
    """Embed labelled texts with a model (and its variants) and measure group separation.

    Args:
        model: A loaded `biaskit.models.Model`.
        texts: The texts.
        labels: One group per text (at least two groups).
        label: Name of the label (for the report).
        ids: Text ids (default: the input row index), kept through the subsample.
        clusters: Cluster of each text (see `analyse_embeddings`), or None.
        variants: `Variant`s from `biaskit.models.variants.parse_variants` (None: the
            model as loaded).
        config: What to compute.
        progress: Show progress bars.

    Raises:
        DataError: Mismatched lengths, fewer than two groups.
    """
    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise DataError(f"{len(texts)} texts for {len(labels)} labels")
    ids = list(range(len(texts))) if ids is None else list(ids)
    n_input = len(texts)
    keep = subsample_indices(n_input, config.max_texts, config.seed)
    if len(keep) < n_input:
        log.info("subsampled %d of %d texts (seed %d)", len(keep), len(texts), config.seed)
    texts = [texts[i] for i in keep]
    labels = [labels[i] for i in keep]
    ids = [ids[i] for i in keep]
    if clusters is not None:
        if len(clusters) != n_input:
            raise DataError(f"{len(clusters)} cluster values for {n_input} texts")
        clusters = [clusters[i] for i in keep]
    if len({str(v) for v in labels}) < 2:
        raise DataError(f"label {label!r} has a single group after subsampling; need two or more")
    layers, embeddings = embed_variants(model, texts, variants, layers=config.layers,
                                        pooling=config.pooling, batch_size=config.batch_size,
                                        progress=progress)
    meta = {"model": getattr(model, "name", None),
            "fingerprint": model.fingerprint() if hasattr(model, "fingerprint") else None,
            "subsample": {"n_input": n_input, "n_used": len(keep), "seed": config.seed,
                          "max_texts": config.max_texts},
            "variant_specs": [_variant_spec(v) for v in variants or []]}
    return analyse_embeddings(embeddings, layers, labels, label=label, ids=ids, clusters=clusters,
                              config=config, meta=meta, progress=progress)


def _variant_spec(v: Any) -> dict[str, Any]:
    return {"name": getattr(v, "name", str(v)), "path": getattr(v, "path", None),
            "kind": getattr(v, "kind", None)}


def _pick_layers(spec: Any, layers: tuple[int, ...]) -> tuple[int, ...]:
    """Which of the embedded `layers` get 2-D maps."""
    if spec is None:
        return ()
    if spec == "all":
        return layers
    if isinstance(spec, int):
        wanted = [spec]
    elif isinstance(spec, str):
        wanted = []
        for part in spec.split(","):
            lo, _, hi = part.strip().partition("-")
            if not lo.strip().lstrip("-").isdigit() or (hi and not hi.strip().isdigit()):
                raise ConfigError(f"reduce_layers: cannot read {spec!r}; write all, 3, '1,2' or '2-5'")
            wanted += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    else:
        wanted = [int(v) for v in spec]
    missing = [w for w in wanted if w not in layers]
    if missing:
        raise LayerError(f"reduce_layers {missing} were not embedded; embedded layers: {list(layers)}")
    return tuple(w for w in layers if w in wanted)
