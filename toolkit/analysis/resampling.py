"""Resampling that respects clusters of texts: cluster bootstrap and restricted permutations.

Texts are often not independent: several answers of one respondent, several samples
of one prompt, several sentences of one template. Resampling them one by one then
understates the noise: a classifier can recognise a respondent rather than a group,
and a null that shuffles single texts breaks the clusters the real labels keep, so
it sits too low and spurious effects (a control field "predicted" above chance)
pass as real. Naming the cluster column (`clusters`) makes every CI resample whole
clusters and every null shuffle labels only in ways the clusters allow:

* when the label is constant within each cluster (a respondent's education), whole
  clusters swap labels;
* otherwise (variants within a prompt), labels are shuffled within each cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from biaskit.errors import DataError


def group_codes(groups: Sequence[Any] | None, n: int) -> np.ndarray | None:
    """Integer cluster codes 0..C-1 of `groups` (None stays None)."""
    if groups is None:
        return None
    values = [str(g) for g in groups]
    if len(values) != n:
        raise DataError(f"{len(values)} group values for {n} texts")
    index: dict[str, int] = {}
    return np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int64)


def constant_within(codes: np.ndarray, groups: np.ndarray) -> bool:
    """Whether every cluster carries a single label."""
    first = np.full(int(groups.max()) + 1, -1)
    first[groups] = codes  # any member's label
    return bool(np.all(first[groups] == codes))


def permute_labels(codes: np.ndarray, groups: np.ndarray | None,
                   rng: np.random.Generator) -> np.ndarray:
    """One draw of the null: labels shuffled over texts, whole clusters, or within clusters."""
    if groups is None:
        return rng.permutation(codes)
    if constant_within(codes, groups):
        label_of = np.zeros(int(groups.max()) + 1, dtype=codes.dtype)
        label_of[groups] = codes
        return rng.permutation(label_of)[groups]
    out = codes.copy()
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for idx in np.split(order, bounds):
        out[idx] = rng.permutation(codes[idx])
    return out


def item_weights(n: int, groups: np.ndarray | None, n_boot: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Bootstrap weights [n_boot, n] per text: multinomial over texts, or over clusters."""
    from biaskit.eval.stats import weights

    if groups is None:
        return weights(n, n_boot, rng)
    n_clusters = int(groups.max()) + 1
    return weights(n_clusters, n_boot, rng)[:, groups]


def mean_ci(values: np.ndarray, groups: np.ndarray | None, *, n_boot: int, seed: int,
            level: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-text `values` with a bootstrap CI over texts or over whole clusters."""
    from biaskit.eval.stats import bootstrap_ci

    values = np.asarray(values, dtype=float)
    if groups is None:
        return bootstrap_ci("mean", {"x": values}, n_boot=n_boot, seed=seed, level=level)
    n_clusters = int(groups.max()) + 1
    num = np.bincount(groups, weights=values, minlength=n_clusters)
    den = np.bincount(groups, minlength=n_clusters).astype(float)
    value, lo, hi = bootstrap_ci("ratio", {"num": num, "den": den}, n_boot=n_boot, seed=seed,
                                 level=level)
    return float(values.mean()), lo, hi
