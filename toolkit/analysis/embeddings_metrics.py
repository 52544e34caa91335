"""How well groups separate in an embedding space: cosine silhouette and kNN purity.

Both metrics are computed in the full-dimensional space of a layer, never on a 2-D map:
PCA keeps only the directions of largest variance and t-SNE/UMAP distort distances on
purpose, so a map can show clusters that are not there or hide ones that are. The maps
are for looking; these numbers are for claims.

Both are means of one value per text, which gives them cheap bootstrap CIs (the texts
are resampled; the neighbourhood structure is kept fixed, so the CI says how much the
average depends on which texts were drawn) and a cheap null: the same metric with the
labels shuffled, which is what "no separation" looks like for these very texts and group
sizes. A separation is only worth reporting when it sits clearly above that null.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from biaskit.errors import DataError

#: Metric names, in the order they are reported.
METRICS: tuple[str, ...] = ("silhouette", "knn_purity", "knn_purity_raw")


@dataclass(frozen=True)
class SeparationConfig:
    """Settings of the separation metrics.

    Attributes:
        k: Neighbours per text for kNN purity (clipped to n - 1).
        n_boot: Bootstrap resamples of the texts for the 95% CIs (0: no CIs).
        null_repeats: Label shuffles for the null distribution (0: no null).
        center: Subtract the mean embedding before cosine distances. Hidden states of
            language models share a large common direction (anisotropy) that makes all
            cosines close to 1; centring removes it, so the cosine compares how texts
            differ from the average text. It does not change kNN ranks much, but it
            keeps the silhouette from being squeezed towards 0.
        level: Confidence level of the intervals.
    """

    k: int = 10
    n_boot: int = 1000
    null_repeats: int = 20
    center: bool = True
    level: float = 0.95


def encode_labels(labels: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Integer codes 0..G-1 for labels (as strings, sorted), and the class names."""
    names = sorted({str(v) for v in labels})
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[str(v)] for v in labels], dtype=np.int64), names


def cosine_distances(x: np.ndarray, *, center: bool = False) -> np.ndarray:
    """Pairwise cosine distances 1 - cos(x_i, x_j), float64, exact zeros on the diagonal.

    A zero vector (after centring) has no direction: its distance to everything is 1.
    """
    x = np.asarray(x, dtype=np.float64)
    if center:
        x = x - x.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    dist = unit @ unit.T
    np.subtract(1.0, dist, out=dist)  # in place: one n x n array, not two
    np.clip(dist, 0.0, 2.0, out=dist)
    np.fill_diagonal(dist, 0.0)
    return dist


def silhouette_values(dist: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-text silhouette s_i = (b_i - a_i) / max(a_i, b_i) (Rousseeuw 1987).

    a_i is the mean distance from text i to the other texts of its group; b_i the
    smallest mean distance to the texts of another group. A text alone in its group
    gets 0, as in scikit-learn. Values lie in [-1, 1]: near 1, a text sits far closer
    to its own group than to any other; near 0, groups overlap.
    """
    n_groups = int(codes.max()) + 1
    onehot = np.zeros((codes.size, n_groups))
    onehot[np.arange(codes.size), codes] = 1.0
    counts = onehot.sum(axis=0)
    sums = dist @ onehot  # [n, G]: total distance from each text to each group
    own = counts[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = sums[np.arange(codes.size), codes] / np.maximum(own - 1.0, 1.0)
        means = sums / counts
    means[np.arange(codes.size), codes] = np.inf
    b = means.min(axis=1)
    denom = np.maximum(a, b)
    s = np.divide(b - a, denom, out=np.zeros_like(a), where=denom > 0)
    s[own <= 1] = 0.0
    return s


#: Above this many texts, neighbours come from a partial sort (argpartition), whose
#: choice among texts tied at exactly the k-th distance is arbitrary rather than by index.
FULL_SORT_MAX = 3000


def nearest_neighbours(dist: np.ndarray, k: int) -> np.ndarray:
    """Indices [n, k] of each text's k nearest other texts, nearest first.

    Ties are broken by index (up to `FULL_SORT_MAX` texts).
    """
    n = dist.shape[0]
    k = min(k, n - 1)
    d = dist.copy()
    np.fill_diagonal(d, np.inf)
    if n <= FULL_SORT_MAX:
        return np.argsort(d, axis=1, kind="stable")[:, :k]
    part = np.argpartition(d, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(d, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def knn_values(neighbours: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-text kNN purity, raw and chance-corrected.

    Raw: the share of a text's k nearest neighbours that carry its label. Its chance
    level is not 0 but the share of the *other* texts in the text's group,
    e_i = (n_g - 1) / (n - 1), about 1/2 with two balanced groups. The corrected value
    (p_i - e_i) / (1 - mean e) subtracts that chance level, so it is about 0 when
    neighbours ignore the label and 1 when every neighbour shares it (like Cohen's
    kappa); its mean over texts is (P - E) / (1 - E).
    """
    raw = (codes[neighbours] == codes[:, None]).mean(axis=1)
    counts = np.bincount(codes)
    expected = (counts[codes] - 1.0) / max(codes.size - 1.0, 1.0)
    spread = 1.0 - float(expected.mean())
    adjusted = (raw - expected) / spread if spread > 0 else np.zeros_like(raw)
    return raw, adjusted


def _metric_values(dist: np.ndarray, neighbours: np.ndarray, codes: np.ndarray
                   ) -> dict[str, np.ndarray]:
    raw, adjusted = knn_values(neighbours, codes)
    return {"silhouette": silhouette_values(dist, codes), "knn_purity": adjusted,
            "knn_purity_raw": raw}


def separation(x: np.ndarray, labels: Sequence[Any], config: SeparationConfig = SeparationConfig(),
               *, seed: int = 0, clusters: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Silhouette and kNN purity of `labels` in the space of `x`, with CIs and a null.

    Args:
        x: Embeddings [n, d] of one layer.
        labels: One label per row (at least two groups).
        config: Neighbours, bootstrap and null settings.
        seed: Seed of the bootstrap and of the label shuffles.
        clusters: Cluster of each text (respondent, prompt, template...) when texts are not
            independent: the CIs then resample whole clusters and the null shuffles
            labels only as the clusters allow (see `biaskit.analysis.resampling`).

    Returns:
        One row per metric (`METRICS`): `metric`, `value`, `ci_low`, `ci_high` (bootstrap
        over texts), `null_mean`, `null_low`, `null_high` (the middle 95% of the metric
        under shuffled labels), `p_value` (share of shuffles at least as high, with the
        +1 correction), `n`, `k`, `groups` (number of label groups), `clusters`
        (number of clusters, or None).

    Raises:
        DataError: Fewer than two groups, or fewer than three texts.
    """
    from biaskit.analysis.resampling import group_codes, mean_ci, permute_labels
    from biaskit.eval.stats import percentile_ci

    x = np.asarray(x)
    codes, names = encode_labels(labels)
    cluster_codes = group_codes(clusters, codes.size)
    if x.ndim != 2 or x.shape[0] != codes.size:
        raise DataError(f"embeddings of shape {tuple(x.shape)} for {codes.size} labels")
    if len(names) < 2:
        raise DataError(f"separation needs at least two groups; all texts are {names!r}")
    if codes.size < 3:
        raise DataError(f"separation needs at least 3 texts, got {codes.size}")
    dist = cosine_distances(x, center=config.center)
    neighbours = nearest_neighbours(dist, config.k)
    observed = _metric_values(dist, neighbours, codes)
    rng = np.random.default_rng(seed)
    null: dict[str, list[float]] = {m: [] for m in METRICS}
    for _ in range(config.null_repeats):
        shuffled = _metric_values(dist, neighbours, permute_labels(codes, cluster_codes, rng))
        for m in METRICS:
            null[m].append(float(shuffled[m].mean()))
    rows = []
    for m in METRICS:
        value, lo, hi = mean_ci(observed[m], cluster_codes, n_boot=config.n_boot, seed=seed,
                                level=config.level)
        draws = np.array(null[m])
        if draws.size:
            n_lo, n_hi = percentile_ci(draws, config.level)
            p = float((1 + np.sum(draws >= value)) / (1 + draws.size))
            n_mean = float(draws.mean())
        else:
            n_lo = n_hi = p = n_mean = float("nan")
        rows.append({"metric": m, "value": value, "ci_low": lo, "ci_high": hi,
                     "null_mean": n_mean, "null_low": n_lo, "null_high": n_hi, "p_value": p,
                     "n": int(codes.size), "k": int(neighbours.shape[1]), "groups": len(names),
                     "clusters": None if cluster_codes is None else int(cluster_codes.max()) + 1})
    return rows
