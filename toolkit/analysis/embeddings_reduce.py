"""2-D maps of embeddings: PCA, t-SNE and UMAP with fixed seeds and exposed parameters.

PCA is linear and exact (distances along the two main axes are real distances); t-SNE
(van der Maaten & Hinton 2008) and UMAP (McInnes et al. 2018) keep neighbourhoods and
give up global distances, so the size of a cluster and the gap between clusters on
their maps mean little. Every map is seeded (`random_state`), so the same inputs give
the same picture. t-SNE and UMAP first see the top `pca_before` principal components,
as the t-SNE authors advise for speed and noise (set it to None to skip).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from biaskit.errors import ConfigError, DataError

log = logging.getLogger(__name__)

#: Reduction methods, in the order they are reported.
METHODS: tuple[str, ...] = ("pca", "tsne", "umap")
#: Fewest points a map is drawn for (t-SNE and UMAP need a neighbourhood).
MIN_POINTS = 5


@dataclass(frozen=True)
class ReductionConfig:
    """Parameters of the 2-D maps.

    Attributes:
        pca_before: Principal components t-SNE and UMAP start from (None: raw space).
        tsne_perplexity: t-SNE perplexity, roughly the number of neighbours each point
            considers (clipped to (n - 1) / 3 for small inputs).
        tsne_max_iter: t-SNE optimisation steps.
        tsne_metric: Distance t-SNE uses (cosine, like the separation metrics).
        umap_n_neighbors: UMAP neighbourhood size: small values show local structure,
            large values the global shape (clipped to n - 1).
        umap_min_dist: How tightly UMAP packs points (0 to 1).
        umap_metric: Distance UMAP uses.
        random_state: Seed of t-SNE and UMAP (and of randomized PCA).
    """

    pca_before: int | None = 50
    tsne_perplexity: float = 30.0
    tsne_max_iter: int = 1000
    tsne_metric: str = "cosine"
    umap_n_neighbors: int = 15
    umap_min_dist: float = 0.1
    umap_metric: str = "cosine"
    random_state: int = 0


def check_methods(methods: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validated method names (lower case, no duplicates, known)."""
    out = tuple(dict.fromkeys(m.strip().lower() for m in methods))
    unknown = [m for m in out if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown reduction method {unknown[0]!r}; methods: {', '.join(METHODS)}")
    return out


def reduce(x: np.ndarray, method: str, config: ReductionConfig = ReductionConfig()) -> np.ndarray:
    """Coordinates [n, 2] of `x` [n, d] under `method` (`pca`, `tsne` or `umap`).

    Raises:
        ConfigError: Unknown method, or umap-learn missing.
        DataError: Fewer than `MIN_POINTS` rows.
    """
    (method,) = check_methods([method])
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < MIN_POINTS:
        raise DataError(f"a 2-D map needs at least {MIN_POINTS} points, got shape {tuple(x.shape)}")
    if method == "pca":
        return _pca(x, 2, config.random_state)
    if config.pca_before is not None and x.shape[1] > config.pca_before:
        x = _pca(x, min(config.pca_before, x.shape[0]), config.random_state)
    if method == "tsne":
        return _tsne(x, config)
    return _umap(x, config)


def _pca(x: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    k = min(n_components, x.shape[1], x.shape[0])
    out = PCA(n_components=k, random_state=seed).fit_transform(x)
    if out.shape[1] < n_components:  # a 1-D input: pad so that a 2-D map still exists
        out = np.pad(out, ((0, 0), (0, n_components - out.shape[1])))
    return out.astype(np.float32)


def _tsne(x: np.ndarray, config: ReductionConfig) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = min(config.tsne_perplexity, max(1.0, (x.shape[0] - 1) / 3.0))
    if perplexity < config.tsne_perplexity:
        log.info("t-SNE perplexity lowered to %.1f for %d points", perplexity, x.shape[0])
    tsne = TSNE(n_components=2, perplexity=perplexity, max_iter=config.tsne_max_iter,
                metric=config.tsne_metric, init="pca", random_state=config.random_state)
    return tsne.fit_transform(x).astype(np.float32)


def _umap(x: np.ndarray, config: ReductionConfig) -> np.ndarray:
    try:
        import umap
    except ImportError:
        raise ConfigError("UMAP needs umap-learn: pip install umap-learn") from None
    n_neighbors = max(2, min(config.umap_n_neighbors, x.shape[0] - 1))
    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=config.umap_min_dist,
                        metric=config.umap_metric, random_state=config.random_state,
                        init="spectral" if x.shape[0] > n_neighbors + 2 else "random")
    with warnings.catch_warnings():
        # a fixed random_state makes UMAP single-threaded and says so on every call
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        warnings.filterwarnings("ignore", message=".*random_state.*")
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)
