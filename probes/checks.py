"""Input checks for `probe_layers`: every mistake a user can make becomes one clear line.

Without them the same mistakes surface as tracebacks from deep inside scikit-learn or
torch ("n_splits=5 cannot be greater than the number of members in each class") that
name neither the label, the class nor the layer at fault.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from biaskit.errors import ConfigError, DataError, LayerError

BACKENDS = ("torch", "sklearn")

# Below this many groups, each test fold holds one or two of them and a probe's accuracy
# depends on which: on lab-tiny (6-8 subjects per axis) it moves by up to 0.18 between
# two corpora of the same design (docs/probing.md).
FEW_GROUPS = 10

logger = logging.getLogger(__name__)


def check_settings(cv: Any, C: Any, backend: Any, max_iter: Any) -> None:
    """Reject settings that cannot work before any data is read."""
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ConfigError(f"cv must be an integer >= 2 (number of folds), got {cv!r}")
    c_grid(C)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown probe backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ConfigError(f"max_iter must be a positive integer, got {max_iter!r}")


# The values `C="auto"` chooses from, by inner cross-validation: from a probe that can
# barely move off the class prior (0.001) to a nearly unregularised one (10).
AUTO_C_GRID: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0)


def c_grid(C: Any) -> tuple[float, ...] | None:
    """None for one fixed C, else the candidate values to choose from ("auto" or a list).

    Raises:
        ConfigError: Not a positive finite number, "auto", or a list of them.
    """
    if isinstance(C, str):
        if C == "auto":
            return AUTO_C_GRID
        raise ConfigError(f"C must be a positive number, a list of them or 'auto', got {C!r}")
    values = list(C) if isinstance(C, (list, tuple)) else [C]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not (value > 0 and math.isfinite(value)):
            raise ConfigError(f"C must be a positive finite number (inverse L2 strength), a list "
                              f"of them or 'auto', got {C!r}")
    if not values:
        raise ConfigError("C is an empty list: give at least one value, or 'auto'")
    return tuple(sorted(float(v) for v in values)) if isinstance(C, (list, tuple)) else None


def column(acts, name: str, role: str) -> list[Any]:
    """A record column with no missing values (`role` names the argument in messages)."""
    values = acts.column(name)
    missing = [i for i, v in enumerate(values) if v is None or (isinstance(v, float) and math.isnan(v))]
    if missing:
        rows = ", ".join(str(i) for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DataError(f"{role} column {name!r} has {len(missing)} missing value(s) (None/NaN) "
                        f"at rows {rows}: drop or fill those rows first")
    bad = next((v for v in values if isinstance(v, (list, dict))), None)
    if bad is not None:
        raise DataError(f"{role} column {name!r} holds {type(bad).__name__} values; "
                        "labels must be strings, numbers or booleans")
    return values


def check_classes(label: str, classes: Sequence[Any], y: np.ndarray, cv: int) -> None:
    """Two classes at least, each with at least `cv` examples (stratified folds need it)."""
    if len(classes) < 2:
        raise DataError(f"label {label!r} has only one class ({classes[0]!r}) in {len(y)} rows: "
                        "a probe needs at least two")
    counts = np.bincount(y, minlength=len(classes))
    worst = int(np.argmin(counts))
    if counts[worst] < cv:
        fix = (f"lower cv to {int(counts[worst])} or add examples" if counts[worst] >= 2
               else "add examples of it or drop it")
        raise DataError(f"class {classes[worst]!r} of label {label!r} has {int(counts[worst])} "
                        f"example(s), fewer than cv={cv} folds: {fix}")


def check_groups(name: str, group_ids: np.ndarray, cv: int) -> None:
    """Group-aware splitting needs at least `cv` distinct groups."""
    n_groups = int(group_ids.max()) + 1 if len(group_ids) else 0
    if n_groups < cv:
        raise DataError(f"groups column {name!r} has {n_groups} distinct value(s), fewer than "
                        f"cv={cv} folds: lower cv to {max(n_groups, 2)} or group more finely")
    if n_groups < FEW_GROUPS:
        logger.warning("groups column %r has only %d groups: each fold tests on one or two of them, "
                       "so accuracy depends on which; read the confidence interval, not the point",
                       name, n_groups)


def check_folds(folds: list[tuple[np.ndarray, np.ndarray]], y: np.ndarray, classes: Sequence[Any],
                groups: str | None) -> None:
    """Every training fold must hold at least two classes (can fail with group splits)."""
    for i, (train, _test) in enumerate(folds):
        present = np.unique(y[train])
        if len(present) < 2:
            how = f" with groups={groups!r}" if groups else ""
            raise DataError(f"fold {i + 1}{how} trains on one class only ({classes[present[0]]!r}): "
                            "use fewer folds or more groups per class")


def check_types(name: str, types: Sequence[Any]) -> None:
    """A control task needs at least two word types to shuffle labels between."""
    if len(set(types)) < 2:
        raise DataError(f"control_by column {name!r} has a single value: the control task "
                        "needs at least two word types")


def pick(requested: Any, available: Sequence[Any], what: str) -> list[Any]:
    """The requested sites or layers (None or "all": all), each checked against what was captured."""
    if requested is None or (isinstance(requested, str) and requested == "all"):
        return list(available)
    items = [requested] if isinstance(requested, (str, int, np.integer)) else list(requested)
    if not items:
        raise DataError(f"no {what}s requested")
    for item in items:
        if item not in available:
            raise LayerError(f"{what} {item!r} was not captured; captured: "
                            f"{', '.join(str(a) for a in available)}")
    return [int(i) for i in items] if what == "layer" else items


def check_finite(X: torch.Tensor, layers: Sequence[int], site: str) -> None:
    """Name the first layer whose activations hold NaN or inf (fp16 overflow, a bad model)."""
    bad_rows = (~torch.isfinite(X)).any(-1)  # [layers, n]
    for i, layer in enumerate(layers):
        count = int(bad_rows[i].sum())
        if count:
            raise DataError(f"activations at layer {layer} (site {site!r}) contain NaN or inf in "
                            f"{count} row(s): the capture overflowed (fp16?) or the model is broken")
