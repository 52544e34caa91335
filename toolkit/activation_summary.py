"""Descriptive statistics of an activation set, per layer and site.

The between/within ratio says how far apart the label groups' mean vectors are compared
with the spread inside each group (trace of the between-group scatter over trace of the
within-group scatter). It is a quick, descriptive look; it is not a probe, has no
held-out data and no control task, and says nothing about whether the model uses the
feature (see the probing and tracing steps for that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from biaskit.activation_set import ActivationSet


def summarise(acts: ActivationSet, labels: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """One row per (layer, site): n, mean L2 norm and, with labels, the between/within ratio."""
    rows = []
    groups = None
    if labels is not None:
        names = sorted({str(v) for v in labels})
        index = {name: i for i, name in enumerate(names)}
        groups = torch.tensor([index[str(v)] for v in labels])
    for site in acts.sites:
        for layer in acts.layers:
            x = acts.layer(layer, site).float()
            row: dict[str, Any] = {"layer": layer, "site": site, "n": x.shape[0],
                                   "mean_norm": float(x.norm(dim=1).mean())}
            if groups is not None:
                row["between_within_ratio"] = between_within_ratio(x, groups)
            rows.append(row)
    return rows


def between_within_ratio(x: torch.Tensor, groups: torch.Tensor) -> float:
    """Trace of between-group scatter / trace of within-group scatter of rows `x`."""
    grand = x.mean(0)
    between = within = 0.0
    for g in groups.unique():
        part = x[groups == g]
        mu = part.mean(0)
        between += part.shape[0] * float(((mu - grand) ** 2).sum())
        within += float(((part - mu) ** 2).sum())
    return between / within if within > 0 else float("inf")
