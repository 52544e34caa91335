"""Per-cell statistics for layer x head tables: bootstrap means, paired differences, FDR.

A layers x heads table is hundreds of means over the same items; one matrix of bootstrap
weights (`biaskit.eval.stats.weights`) resamples every cell at once.
"""

from __future__ import annotations

import numpy as np

from biaskit.errors import ConfigError


def cell_summary(values: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over items of every cell of `values` `[n, cells]`, with CIs.

    One set of bootstrap weights serves all cells (a `[b, n] @ [n, cells]` product), as in
    `biaskit.eval.stats`; below `SMALL_N` items, where a percentile bootstrap cannot cover,
    each cell gets a Student-t interval instead.

    Returns:
        `(mean, ci_low, ci_high)`, each `[cells]`.
    """
    from biaskit.eval.stats import SMALL_N

    n = values.shape[0]
    mean = values.mean(axis=0)
    nan = np.full_like(mean, np.nan)
    if n < 2 or n_boot <= 0:
        return mean, nan, nan.copy()
    if n < SMALL_N:
        half = _t_half(values, level)
        return mean, mean - half, mean + half
    reps = _boot_means(values, n_boot, seed)
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(reps, [tail, 100.0 - tail], axis=0)
    return mean, lo, hi


def paired_summary(before: np.ndarray, after: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
                   level: float = 0.95) -> tuple[np.ndarray, ...]:
    """Mean of after - before per cell over the same items, with a paired CI and p-value.

    Resampling items with one set of weights for both runs lets item difficulty cancel
    (the mean is linear, so this is the bootstrap of the per-item differences). The
    p-value is the two-sided bootstrap one of `biaskit.eval.stats.paired_bootstrap`;
    below `SMALL_N` items it is the one-sample t-test of the differences.

    Returns:
        `(diff, ci_low, ci_high, p_value)`, each `[cells]`.
    """
    from scipy.stats import t as student_t

    from biaskit.eval.stats import SMALL_N

    if before.shape != after.shape:
        raise ConfigError(f"paired comparison needs the same items ({before.shape} vs {after.shape})")
    d = after - before
    n = d.shape[0]
    diff = d.mean(axis=0)
    nan = np.full_like(diff, np.nan)
    if n < 2 or n_boot <= 0:
        return diff, nan, nan.copy(), nan.copy()
    if n < SMALL_N:
        half = _t_half(d, level)
        sd = d.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            tstat = np.where(sd > 0, diff / (sd / np.sqrt(n)), np.where(diff == 0, 0.0, np.inf))
        return diff, diff - half, diff + half, 2.0 * student_t.sf(np.abs(tstat), n - 1)
    reps = _boot_means(d, n_boot, seed)
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(reps, [tail, 100.0 - tail], axis=0)
    b = reps.shape[0]
    below = ((reps <= 0).sum(axis=0) + 1) / (b + 1)
    above = ((reps >= 0).sum(axis=0) + 1) / (b + 1)
    return diff, lo, hi, np.minimum(1.0, 2.0 * np.minimum(below, above))


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values): layers x heads is many tests at once."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if not ok.any():
        return q
    pv = p[ok]
    order = np.argsort(pv)
    ranked = pv[order] * pv.size / np.arange(1, pv.size + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(pv)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def _boot_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    from biaskit.eval.stats import weights

    n = values.shape[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, 4_000_000 // n)
    return np.concatenate([weights(n, min(chunk, n_boot - s), rng) @ values / n
                           for s in range(0, n_boot, chunk)])


def _t_half(values: np.ndarray, level: float) -> np.ndarray:
    from scipy.stats import t as student_t

    n = values.shape[0]
    return float(student_t.ppf(0.5 + level / 2.0, n - 1)) * values.std(axis=0, ddof=1) / np.sqrt(n)
