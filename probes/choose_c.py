"""Choosing a probe's L2 strength `C` by inner cross-validation (`C="auto"`).

With one fixed `C` a probe on a few dozen rows and 64 or more features fits noise: given
labels it cannot decode, it still draws a boundary through the training rows, and on
held-out rows it scores the chance of guessing in the class proportions (sum p_c^2)
rather than the majority baseline. Choosing `C` inside each training fold (nested
cross-validation) lets such a probe fall back to the class prior, while a probe with
real signal keeps a weak penalty. The held-out fold never takes part in the choice, so
the reported accuracy stays unbiased.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biaskit.errors import DataError
from biaskit.probes.control import make_folds

INNER_FOLDS = 3


@dataclass(frozen=True)
class InnerTasks:
    """The inner-CV fits added to the outer ones, as rows of the task matrix.

    Attributes:
        labels: Class codes per inner task [tasks, n].
        train: Training rows per inner task [tasks, n] (bool).
        test: Held-out rows per inner task [tasks, n] (bool).
        index: (label set, outer fold) of each inner task.
    """

    labels: np.ndarray
    train: np.ndarray
    test: np.ndarray
    index: list[tuple[int, int]]


def inner_tasks(label_sets: Sequence[np.ndarray], folds: list[tuple[np.ndarray, np.ndarray]],
                y: np.ndarray, groups: np.ndarray | None, seed: int) -> InnerTasks:
    """Split each outer training fold again, the same way (stratified, grouped if asked).

    Raises:
        DataError: A training fold is too small to split again (fewer than two rows of
            some class, or fewer than two groups): give a fixed C instead.
    """
    n = len(y)
    labels, train, test, index = [], [], [], []
    for f, (tr, _) in enumerate(folds):
        y_tr = y[tr]
        g_tr = groups[tr] if groups is not None else None
        smallest = int(np.bincount(y_tr)[np.unique(y_tr)].min())
        k = min(INNER_FOLDS, smallest, len(np.unique(g_tr)) if g_tr is not None else INNER_FOLDS)
        if k < 2:
            raise DataError("a training fold is too small to choose C by inner cross-validation "
                            "(a class or the groups have fewer than 2 members): give a fixed C")
        for inner_tr, inner_te in make_folds(y_tr, k, seed + 1 + f, g_tr):
            for s, ys in enumerate(label_sets):
                tr_mask = np.zeros(n, dtype=bool)
                te_mask = np.zeros(n, dtype=bool)
                tr_mask[tr[inner_tr]] = True
                te_mask[tr[inner_te]] = True
                labels.append(ys)
                train.append(tr_mask)
                test.append(te_mask)
                index.append((s, f))
    return InnerTasks(np.stack(labels), np.stack(train), np.stack(test), index)


def choose(inner_preds: Sequence[np.ndarray], inner: InnerTasks, n_sets: int, n_folds: int
           ) -> np.ndarray:
    """The grid index of C chosen per (label set, outer fold, layer).

    Args:
        inner_preds: Per candidate C, predictions of the inner tasks [tasks, layers, n].
        inner: The inner tasks.
        n_sets: Number of label sets (real, control).
        n_folds: Number of outer folds.

    Returns:
        Indices into the grid [n_sets, n_folds, layers]. Ties go to the smaller C (the
        stronger penalty): with no evidence either way, the simpler probe.
    """
    layers = inner_preds[0].shape[1]
    score = np.zeros((len(inner_preds), n_sets, n_folds, layers))
    count = np.zeros((n_sets, n_folds))
    for t, (s, f) in enumerate(inner.index):
        te = inner.test[t]
        truth = inner.labels[t, te]
        for g, pred in enumerate(inner_preds):
            score[g, s, f] += (pred[t][:, te] == truth).mean(-1)
        count[s, f] += 1
    score /= count[None, :, :, None]
    return np.round(score, 9).argmax(0)  # first (smallest C) among equal scores


def most_chosen(chosen: np.ndarray) -> np.ndarray:
    """Per layer, the grid index chosen in most real-label folds (ties: smaller C)."""
    out = []
    for column in chosen.T:  # [layers, folds]
        counts = Counter(column.tolist())
        best = max(counts.values())
        out.append(min(g for g, c in counts.items() if c == best))
    return np.array(out, dtype=np.int64)
