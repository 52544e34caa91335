"""Fold statistics for probes: t intervals over folds, macro-F1, majority baseline.

These are small numpy functions rather than calls into `sklearn.metrics` because the
batched path scores hundreds of (layer, fold) pairs at once and because the exact
definitions are part of what a report claims, so they are written out here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-fold scores with a Student-t interval: mean ± t_{k-1} · sd / sqrt(k).

    k-fold scores are not independent (training sets overlap), so this interval is
    known to be somewhat too narrow (Nadeau & Bengio, 2003). It is still the
    conventional way to show fold-to-fold spread, and it is honest about small k:
    with 5 folds the multiplier is t_{4,0.975} = 2.78, not 1.96.

    Args:
        values: One score per fold (k >= 1).
        level: Two-sided coverage.

    Returns:
        (mean, low, high). With a single value, low and high equal the mean.
    """
    arr = np.asarray(values, dtype=np.float64)
    mean = float(arr.mean())
    k = arr.size
    if k < 2:
        return mean, mean, mean
    from scipy.stats import t as student_t

    half = float(student_t.ppf(0.5 + level / 2, k - 1)) * float(arr.std(ddof=1)) / math.sqrt(k)
    return mean, mean - half, mean + half


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Unweighted mean of per-class F1 over the classes present in `y_true` or `y_pred`.

    Matches `sklearn.metrics.f1_score(average="macro", zero_division=0)`: a class that
    occurs in neither the truth nor the predictions of a fold is left out rather than
    counted as 0, so a fold without some class is not penalised for it.

    Args:
        y_true: Integer class codes.
        y_pred: Integer class codes, same length.
        n_classes: Number of codes (0..n_classes-1).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    confusion = np.bincount(y_true * n_classes + y_pred,
                            minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(0) - tp
    fn = confusion.sum(1) - tp
    present = (confusion.sum(0) + confusion.sum(1)) > 0
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1[present].mean()) if present.any() else 0.0


def majority_accuracy(y_train: np.ndarray, y_test: np.ndarray, n_classes: int) -> float:
    """Accuracy on `y_test` of always predicting the most frequent class of `y_train`.

    The baseline is computed fold by fold, like the probe, so that with group-aware
    splits (where folds can have different class mixes) it stays comparable.
    """
    majority = int(np.bincount(np.asarray(y_train, dtype=np.int64), minlength=n_classes).argmax())
    return float(np.mean(np.asarray(y_test) == majority)) if len(y_test) else float("nan")
