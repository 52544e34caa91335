"""AlphaEdit (Fang et al., ICLR 2025, "Null-Space Constrained Knowledge Editing").

MEMIT's update D disturbs the outputs of preserved keys K0 a little (it trades them off
against the new facts through lambda C). AlphaEdit removes that trade-off: it projects the
update onto the null space of K0, so that (W + D P) K0 = W K0 exactly, and spends the whole
update on the new facts:

- **Projector** P: with C = K0 K0^T / n (the key second moment over a corpus), take the
  eigenvectors U of C whose eigenvalues are below `nullspace_threshold`; P = U U^T. Any
  D P then satisfies D P K0 ~ 0 (up to the small eigenvalues left out).
- **Update** per layer, with K the new keys, R the residual to write (as in MEMIT) and
  Kp the keys of earlier edits in a sequence (kept so later edits do not undo them):

      D^T = (P (Kp Kp^T + K K^T) + l2 I)^-1 P K R^T.

  D^T lies in the range of P (D^T = P (K R^T - (Kp Kp^T + K K^T) D^T) / l2), so the
  delta leaves every preserved key's output unchanged: D K0 = 0.

Sequential editing: `AlphaEditSession` keeps P (computed once) and the accumulated
Kp Kp^T per layer across calls, so hundreds of successive edits do not collapse the model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from biaskit.editors.config import AlphaEditConfig
from biaskit.editors.memit import spread
from biaskit.editors.requests import EditRequest
from biaskit.editors.rome import prepare, prepare_config, second_moments, solve_system
from biaskit.errors import EditError
from biaskit.models.model import Model

log = logging.getLogger(__name__)

METHOD = "alphaedit"
Config = AlphaEditConfig


def null_space_projector(c: torch.Tensor, threshold: float, *, relative: bool = False) -> torch.Tensor:
    """P = U U^T over the eigenvectors of C with eigenvalue below `threshold` (float32).

    Args:
        c: C = E[k k^T] [d_key, d_key] (symmetric).
        threshold: Eigenvalue cut (absolute, as in the paper, or relative to the largest).
        relative: Read `threshold` as a fraction of the largest eigenvalue.

    Raises:
        EditError: No eigenvalue is below the threshold: the null space is empty and no
            update could leave the preserved keys alone.
    """
    eigvals, eigvecs = torch.linalg.eigh(c.double())
    cut = threshold * float(eigvals.max()) if relative else threshold
    keep = eigvals < cut
    if not bool(keep.any()):
        raise EditError(
            f"alphaedit: no eigenvalue of the key second moment is below {cut:.3g} (smallest "
            f"{float(eigvals.min()):.3g}): the preserved keys span the whole key space; raise "
            "nullspace_threshold or set nullspace_relative")
    u = eigvecs[:, keep]
    dim = int(keep.sum())
    log.info("alphaedit: null space of dimension %d of %d (threshold %.3g)", dim, c.shape[0], cut)
    if dim < 0.05 * c.shape[0]:
        log.warning("alphaedit: the null space has only %d of %d dimensions (threshold %.3g): edits "
                    "may not take; consider a larger nullspace_threshold or nullspace_relative",
                    dim, c.shape[0], cut)
    return (u @ u.T).float()


def alphaedit_update(keys: torch.Tensor, resid: torch.Tensor, p: torch.Tensor,
                     previous: torch.Tensor | None, l2: float) -> torch.Tensor:
    """D with D^T = (P (Kp Kp^T + K K^T) + l2 I)^-1 P K R^T (float32 [d_out, d_key]).

    Args:
        keys: K [d_key, n].
        resid: R [d_out, n].
        p: Null-space projector [d_key, d_key].
        previous: Kp Kp^T of earlier edits [d_key, d_key], or None.
        l2: Weight of the ||D||^2 term.
    """
    k = keys.double()
    pd = p.double().to(k.device)
    gram = k @ k.T
    if previous is not None:
        gram = gram + previous.double().to(k.device)
    a = pd @ gram + l2 * torch.eye(k.shape[0], dtype=torch.float64, device=k.device)
    rhs = pd @ k @ resid.double().to(k.device).T
    return solve_system(a, rhs, "alphaedit").T.float()


def compute(model: Model, requests: Sequence[EditRequest], config: Any = None, *,
            stats: dict[int, torch.Tensor] | None = None, progress: bool = False,
            previous: dict[int, torch.Tensor] | None = None,
            projectors: dict[int, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """AlphaEdit deltas for `requests`, without changing the model.

    Args:
        model: The model to edit.
        requests: Edit requests.
        config: An `AlphaEditConfig`, a mapping, a hparams path, or None.
        stats: Precomputed {layer: E[k k^T]} (else computed/cached from the corpus).
        progress: Show progress bars.
        previous: {layer: Kp Kp^T} of earlier edits in a sequence (see `AlphaEditSession`).
        projectors: Precomputed {layer: P} (else computed from the statistics).
    """
    return _compute(model, requests, config, stats=stats, progress=progress, previous=previous,
                    projectors=projectors)[0]


def _compute(model: Model, requests: Sequence[EditRequest], config: Any, *,
             stats: dict[int, torch.Tensor] | None, progress: bool,
             previous: dict[int, torch.Tensor] | None, projectors: dict[int, torch.Tensor] | None
             ) -> tuple[dict[str, torch.Tensor], dict[int, torch.Tensor]]:
    """Deltas and the K K^T of this edit's keys per layer (for the next edit of a sequence)."""
    config, objective, prefixes = prepare(model, requests, config, METHOD)
    if projectors is None:
        projectors = projectors_for(model, config, stats, progress=progress)
    grams: dict[int, torch.Tensor] = {}

    def solve(_i: int, layer: int, keys: torch.Tensor, resid: torch.Tensor) -> torch.Tensor:
        grams[layer] = (keys.double() @ keys.double().T).cpu()
        prev = None if previous is None else previous.get(layer)
        return alphaedit_update(keys, resid, projectors[layer], prev, config.l2_weight)

    deltas = spread(model, requests, config, objective, prefixes, solve, progress=progress)
    return deltas, grams


def projectors_for(model: Model, config: AlphaEditConfig, stats: dict[int, torch.Tensor] | None, *,
                   progress: bool = False) -> dict[int, torch.Tensor]:
    """The null-space projector of every edited layer, from the key statistics."""
    moments = second_moments(model, config, stats, progress=progress, force=True)
    return {layer: null_space_projector(moments[layer], config.nullspace_threshold,
                                        relative=config.nullspace_relative)
            for layer in config.layers}


def apply(model: Model, requests: Sequence[EditRequest], config: Any = None, *,
          stats: dict[int, torch.Tensor] | None = None, progress: bool = False) -> Any:
    """Compute one AlphaEdit edit and apply it; returns an `EditResult`."""
    return AlphaEditSession(model, config, stats=stats).edit(requests, progress=progress)


class AlphaEditSession:
    """Sequential AlphaEdit: each `edit` also protects the keys of the earlier ones.

    Holds the projectors (computed once) and the running Kp Kp^T per layer. Each call
    returns its own `EditResult`; undo them newest first.

    Args:
        model: The model to edit.
        config: An `AlphaEditConfig` (or mapping/path/None), fixed for the session.
        stats: Precomputed key statistics (else computed/cached).
    """

    def __init__(self, model: Model, config: Any = None, *,
                 stats: dict[int, torch.Tensor] | None = None) -> None:
        self.model = model
        self.config: AlphaEditConfig = prepare_config(model, config, METHOD)  # type: ignore[assignment]
        self.stats = stats
        self.projectors: dict[int, torch.Tensor] | None = None
        self.previous: dict[int, torch.Tensor] = {}
        self.results: list[Any] = []

    def edit(self, requests: Sequence[EditRequest], *, progress: bool = False) -> Any:
        """Compute and apply one batch of requests; returns its `EditResult`."""
        from biaskit.editors.result import apply_deltas

        if self.projectors is None:
            self.projectors = projectors_for(self.model, self.config, self.stats, progress=progress)
        deltas, grams = _compute(self.model, requests, self.config, stats=self.stats,
                                 progress=progress, previous=self.previous,
                                 projectors=self.projectors)
        if not deltas:
            raise EditError("alphaedit: nothing to apply")
        result = apply_deltas(self.model, deltas, method=METHOD, requests=requests,
                              config=self.config, layers=self.config.layers)
        for layer, gram in grams.items():
            self.previous[layer] = self.previous.get(layer, torch.zeros_like(gram)) + gram
        self.results.append(result)
        return result
