"""Control tasks (Hewitt & Liang, 2019) and cross-validation splits.

A control task keeps the *structure* of the probing task (the same inputs, the same
number of classes, the same label proportions) but replaces its meaning: every word
type gets a random label, and all rows of that type share it. A probe can then only
succeed by memorising types. Selectivity, accuracy minus control accuracy, is the part
of the probe's success that memorisation does not explain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# Redraws of a control deal that reproduces the real labelling before giving up.
MAX_REDEALS = 1000


def encode(values: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    """Sorted distinct values and the integer code of each row.

    Values of mixed types (1 and "1") are kept apart and sorted by their text, so that
    the class order never depends on hashing.
    """
    distinct = set(values)
    try:
        classes = sorted(distinct)
    except TypeError:
        classes = sorted(distinct, key=lambda v: (type(v).__name__, str(v)))
    index = {v: i for i, v in enumerate(classes)}
    return classes, np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))


def type_quota(class_counts: np.ndarray, n_types: int) -> np.ndarray:
    """How many types get each control label, matching the row-level label proportions.

    Largest-remainder rounding of `n_types * p_c`, then at least one type per class when
    there are enough types, so the control task never collapses to a single class (which
    would make it trivially easy and selectivity meaningless).
    """
    p = class_counts / class_counts.sum()
    raw = p * n_types
    quota = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - quota), kind="stable")
    quota[order[: n_types - quota.sum()]] += 1
    if n_types >= len(quota):
        for c in np.flatnonzero(quota == 0):
            quota[int(np.argmax(quota))] -= 1
            quota[c] += 1
    return quota


def control_labels(y: np.ndarray, n_classes: int, types: Sequence[Any] | None,
                   rng: np.random.Generator) -> np.ndarray:
    """Control-task class codes: one random label per word type.

    Hewitt & Liang draw each type's label independently from the empirical label
    distribution. With few types (ten professions, six nationalities) independent draws
    are noisy and can give every type the same label, so here the labels are dealt out
    instead: the number of types per label follows the row-level label proportions
    (`type_quota`) and the assignment of labels to types is a random permutation. With
    no types, each row is its own type and this is a permutation of the real labels.
    A deal that reproduces the real partition of types (`is_relabelling`) is redrawn,
    as long as another deal exists.

    Args:
        y: Real class codes [n] (their proportions, and each type's label).
        n_classes: Number of classes.
        types: The word type of each row (e.g. the subject or group term), or None.
        rng: Random generator (the control task is a function of the seed).
    """
    counts = np.bincount(y, minlength=n_classes)
    if types is None:
        return rng.permutation(y)
    _, type_ids = encode(types)
    n_types = int(type_ids.max()) + 1
    quota = type_quota(counts, n_types)
    deck = np.repeat(np.arange(n_classes), quota)
    real = _real_type_labels(y, type_ids, n_types)
    type_label = rng.permutation(deck)
    for _ in range(MAX_REDEALS):
        if real is None or not is_relabelling(real, type_label):
            break
        type_label = rng.permutation(deck)
    else:
        logger.warning("every control deal of %d types reproduces the real labels: "
                       "selectivity is not informative here", n_types)
    return type_label[type_ids]


def _real_type_labels(y: np.ndarray, type_ids: np.ndarray, n_types: int) -> np.ndarray | None:
    """Each type's real label, or None when some type carries several labels."""
    labels = np.full(n_types, -1, dtype=np.int64)
    for t, label in zip(type_ids, y, strict=True):
        if labels[t] not in (-1, label):
            return None
        labels[t] = label
    return labels


def is_relabelling(real: np.ndarray, control: np.ndarray) -> bool:
    """Whether the control deal is the real per-type labelling under other class names.

    With few types (five age groups, two labels) a random deal has a fair chance of
    reproducing the real partition of types exactly, or its mirror image. Such a control
    task *is* the probing task: its accuracy equals the probe's and selectivity reads 0
    however selective the representation is (or, for the mirror, is inflated). Those
    deals are redrawn.
    """
    forward: dict[int, int] = {}
    backward: dict[int, int] = {}
    for r, c in zip(real.tolist(), control.tolist(), strict=True):
        if forward.setdefault(r, c) != c or backward.setdefault(c, r) != r:
            return False
    return True


def make_folds(y: np.ndarray, cv: int, seed: int,
               groups: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices for k-fold CV, stratified by label, optionally by group.

    With groups, every group (a subject, a template) falls wholly in one fold, so a probe
    cannot score by recognising a name it saw in training: `StratifiedGroupKFold` keeps
    the label mix as even as the groups allow.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    dummy = np.zeros((len(y), 1))
    if groups is None:
        splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
        return list(splitter.split(dummy, y))
    splitter = StratifiedGroupKFold(n_splits=cv, shuffle=True, random_state=seed)
    return list(splitter.split(dummy, y, groups))
