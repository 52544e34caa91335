"""Steering: add a direction to a layer's output at inference time (activation addition).

Steering (Turner et al. 2023, "Activation Addition"; Li et al. 2023, "Inference-Time
Intervention") adds `strength * u` (u a unit vector) to the output of one site at one
layer, for as long as a `with steer(...)` block lasts. It is the runtime counterpart of
concept erasure: erasure removes what a layer writes along a concept's directions,
permanently and for every input; steering pushes every input along one direction, can
push either way (sign of `strength`), needs a hook, and leaves the weights untouched.

Directions come from a probe (`direction_from_probe`: the probe's normalised weight
vector or its difference of class means, both stored in a `ProbeReport`) or from
labelled texts (`mean_difference`: mean activation of one class minus the other's).
The difference of means is usually the better steering vector: a probe's weights are
shaped by the covariance of the data (they point where classes separate best, which is
not where they differ on average), while adding the mean difference moves an
activation from one class's centroid towards the other's.

Strength is in the units of the activations: the norm of the mean difference, or a
few standard deviations of the site, is a natural scale.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from biaskit.errors import DataError
from biaskit.models.model import Model

log = logging.getLogger(__name__)

POSITIONS = ("all", "last")


@dataclass(frozen=True, eq=False)
class Steering:
    """An active steering intervention (what `steer` yields).

    Attributes:
        layer: Layer index.
        site: Site whose output is shifted (`resid`, `attn_out`, `mlp_out`, `mlp_key`).
        strength: Multiplier of the unit direction.
        direction: The unit direction [d] (float32, CPU).
        positions: `all`, `last`, or a token index.
    """

    layer: int
    site: str
    strength: float
    direction: torch.Tensor
    positions: str | int

    @property
    def vector(self) -> torch.Tensor:
        """The vector added: strength * unit direction."""
        return self.strength * self.direction


def unit(direction: Any) -> torch.Tensor:
    """`direction` ([d] or [1, d], tensor or array) as a float32 unit vector [d].

    Raises:
        DataError: Several rows (pick one), or a zero / non-finite vector.
    """
    v = torch.as_tensor(np.asarray(direction.detach().cpu() if isinstance(direction, torch.Tensor)
                                   else direction, dtype=np.float64))
    if v.dim() == 2 and v.shape[0] == 1:
        v = v[0]
    if v.dim() != 1:
        raise DataError(f"a steering direction is one vector [d]; got shape {tuple(v.shape)} "
                        "(a multi-class probe has one row per class: pick the row of one class)")
    norm = float(v.norm())
    if not np.isfinite(norm) or norm == 0.0:
        raise DataError("the steering direction is zero or not finite")
    return (v / norm).float()


@contextmanager
def steer(model: Model, direction: Any, layer: int, strength: float, *, site: str = "resid",
          positions: str | int = "all") -> Iterator[Steering]:
    """Add `strength * direction / ||direction||` to `site` at `layer` inside the block.

    The hook is removed when the block exits, also on error. Several `steer` blocks may
    be nested (their vectors add up).

    Args:
        model: The model.
        direction: The direction [d] (any scale; it is normalised).
        layer: Layer index (negative counts from the end).
        strength: Length of the added vector (negative pushes the other way).
        site: `resid` (the block's output, default), `attn_out`, `mlp_out` or `mlp_key`.
        positions: `all` tokens; `last`: the last position of each forward call (with
            padding, use left padding; during generation with a cache every new token
            is the last one); or a token index within each forward call.

    Yields:
        The `Steering` record.

    Raises:
        DataError: A direction whose width is not the site's, or unknown positions.
        LayerError: A layer or site that does not exist.
    """
    layer = model.layer_index(layer)
    module, kind = model.site_module(site, layer)
    u = unit(direction)
    width = model.site_width(site)
    if u.shape[0] != width:
        raise DataError(f"direction of width {u.shape[0]} does not fit site {site!r} (width {width})")
    if not (isinstance(positions, int) or positions in POSITIONS):
        raise DataError(f"positions must be 'all', 'last' or a token index, not {positions!r}")
    record = Steering(layer=layer, site=site, strength=float(strength), direction=u,
                      positions=positions)
    vector = record.vector

    def shift(hidden: torch.Tensor) -> torch.Tensor:
        add = vector.to(hidden.device, hidden.dtype)
        if positions == "all":
            return hidden + add
        out = hidden.clone()
        index = -1 if positions == "last" else int(positions)
        if -out.shape[-2] <= index < out.shape[-2]:
            out[..., index, :] += add
        return out

    if kind == "output":
        def hook(_m: Any, _args: Any, output: Any) -> Any:
            if isinstance(output, tuple):
                return (shift(output[0]), *output[1:])
            return shift(output)

        handle = module.register_forward_hook(hook)
    else:
        def pre_hook(_m: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if args:
                return (shift(args[0]), *args[1:]), kwargs
            key = next(iter(kwargs))
            return args, {**kwargs, key: shift(kwargs[key])}

        handle = module.register_forward_pre_hook(pre_hook, with_kwargs=True)
    log.debug("steering %s at layer %d with strength %g", site, layer, strength)
    try:
        yield record
    finally:
        handle.remove()


def mean_difference(model: Model, texts: Sequence[str], labels: Sequence[Any], layer: int, *,
                    site: str = "resid", positions: str | int = "last",
                    positive: Any = None, subject: str | Sequence[str] | None = None,
                    batch_size: int = 32, progress: bool = False) -> torch.Tensor:
    """Mean activation of the `positive` class minus the mean of the other class [d].

    Not normalised (its norm is a natural scale for `strength`); `steer` normalises it.

    Args:
        model: The model.
        texts: Texts.
        labels: One of two class values per text.
        layer: Layer.
        site: Site to read (`resid` by default).
        positions: Token positions read (`last`, `mean`, `subject_last`, ...), as in capture.
        positive: The class the direction points to; default the second class in sorted
            order (the convention of `ProbeReport` directions).
        subject: Subject(s) for `positions="subject_last"`.
        batch_size: Texts per forward pass.
        progress: Show a progress bar.

    Raises:
        DataError: Not exactly two classes, or `positive` not among them.
    """
    from biaskit.activations import capture

    labels = list(labels)
    if len(labels) != len(texts):
        raise DataError(f"{len(labels)} labels for {len(texts)} texts")
    classes = sorted(set(labels), key=str)
    if len(classes) != 2:
        raise DataError(f"a mean difference needs exactly two classes; got {len(classes)}: "
                        f"{', '.join(map(str, classes[:5]))}")
    if positive is None:
        positive = classes[1]
    if positive not in classes:
        raise DataError(f"positive class {positive!r} is not one of {classes}")
    acts = capture(model, list(texts), layers=[layer], sites=(site,), positions=positions,
                   subject=subject, records=[{"_label": y} for y in labels], batch_size=batch_size,
                   dtype=torch.float32, progress=progress)
    X = acts.layer(model.layer_index(layer), site).double()
    mask = torch.tensor([y == positive for y in acts.column("_label")])
    return (X[mask].mean(0) - X[~mask].mean(0)).float()


def direction_from_probe(report: Any, *, layer: int | None = None, site: str | None = None,
                         kind: str = "mean_diff", toward: Any = None) -> torch.Tensor:
    """A unit direction [d] from a `ProbeReport`, pointing towards class `toward`.

    Args:
        report: A `ProbeReport` (or a folder holding one, as the `probe` step writes).
        layer: Layer (default: the report's best).
        site: Site (default: the report's best).
        kind: `mean_diff` (difference of class means, the default) or `probe` (the
            probe's normalised weights).
        toward: Class the direction points to; default the second class for two classes
            (the stored orientation). Required with more than two classes.

    Raises:
        DataError: Unknown class, or no class given for a multi-class report.
    """
    from pathlib import Path

    from biaskit.probes.report import ProbeReport

    if isinstance(report, (str, Path)):
        report = ProbeReport.load(report)
    rows = report.direction(layer, site, kind=kind)
    classes = [str(c) for c in report.classes]
    if toward is not None and str(toward) not in classes:
        raise DataError(f"class {toward!r} is not one of the probe's classes {classes}")
    if rows.shape[0] == 1:
        sign = -1.0 if toward is not None and str(toward) == classes[0] else 1.0
        return unit(sign * rows[0])
    if toward is None:
        raise DataError(f"the probe has {len(classes)} classes; say which one to steer towards "
                        f"(one of {classes})")
    return unit(rows[classes.index(str(toward))])
