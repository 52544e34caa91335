"""Analyses of model variants: embeddings, attention and the style of generated text.

`embedding_analysis` measures, layer by layer, how far apart the texts of different
groups sit inside a model (and its fine-tuned or edited variants); `stylometry_analysis`
measures how the texts a variant writes differ in style. Names are imported lazily, so
`import biaskit.analysis` costs nothing until one is used.
"""

from __future__ import annotations

from biaskit.lazy import lazy_exports

_LAZY = {
    "EmbeddingConfig": "biaskit.analysis.embeddings",
    "EmbeddingReport": "biaskit.analysis.embeddings",
    "embedding_analysis": "biaskit.analysis.embeddings",
    "analyse_embeddings": "biaskit.analysis.embeddings",
    "embed_texts": "biaskit.analysis.embeddings",
    "SeparationConfig": "biaskit.analysis.embeddings_metrics",
    "separation": "biaskit.analysis.embeddings_metrics",
    "ReductionConfig": "biaskit.analysis.embeddings_reduce",
    "reduce": "biaskit.analysis.embeddings_reduce",
    "StylometryConfig": "biaskit.analysis.stylometry",
    "StylometryReport": "biaskit.analysis.stylometry",
    "stylometry_analysis": "biaskit.analysis.stylometry",
    "FeatureConfig": "biaskit.analysis.stylometry_features",
    "extract_features": "biaskit.analysis.stylometry_features",
    "burrows_delta": "biaskit.analysis.stylometry_classify",
    "classify_texts": "biaskit.analysis.stylometry_classify",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(
    __name__, _LAZY,
    modules=("embeddings", "embeddings_metrics", "embeddings_reduce", "embeddings_plot",
             "stylometry", "stylometry_features", "stylometry_classify", "stylometry_plot",
             "attention"))
