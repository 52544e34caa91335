"""MEMIT (Meng et al. 2023, "Mass-Editing Memory in a Transformer").

MEMIT writes many facts at once and spreads each over a range of layers R = [l_1..l_L]:

1. **Target residual** z_i per request: the residual stream after the last layer l_L at
   the subject's last token, optimised like ROME's value (`values.optimise_values`, site
   `resid`), all requests in batched passes.
2. **Spread over the layers**, lowest first. At layer l (the i-th of the range) with the
   previous layers' updates in place: keys K (d_key x n, averaged over context prefixes),
   the current residual h at l_L, and the residual left to write, divided among the
   layers still to edit: R = (z - h) / (L - i). The update solves

       min_D ||(W + D) K - (W K + R)||^2 + lambda tr(D C D^T)
       =>  D = R K^T (lambda C + K K^T)^-1,

   with C = E[k k^T] over a corpus and lambda = `mom2_update_weight` (`memit_update`).

`compute` leaves the model untouched (each layer's update is applied only while the next
layers are computed, then undone); `apply` adds the deltas through `result.apply_deltas`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch

from biaskit.editors.config import MemitConfig
from biaskit.editors.keys import (
    add_to_weight,
    compute_keys,
    lookups,
    param_name,
    read_sites,
    scratch_weights,
    to_param_layout,
)
from biaskit.editors.objectives import Objective
from biaskit.editors.requests import EditRequest
from biaskit.editors.rome import prepare, prepare_config, second_moments, solve_system
from biaskit.editors.values import optimise_values
from biaskit.errors import EditError
from biaskit.models.model import Model

log = logging.getLogger(__name__)

METHOD = "memit"
Config = MemitConfig

# (step index i, layer, keys K [d_key, n], residual R [d_out, n]) -> delta [d_out, d_key]
LayerSolve = Callable[[int, int, torch.Tensor, torch.Tensor], torch.Tensor]


def compute(model: Model, requests: Sequence[EditRequest], config: Any = None, *,
            stats: dict[int, torch.Tensor] | None = None, progress: bool = False
            ) -> dict[str, torch.Tensor]:
    """MEMIT deltas for all `requests` at once, without changing the model.

    Args:
        model: The model to edit.
        requests: Edit requests.
        config: A `MemitConfig`, a mapping, a hparams path, or None for defaults.
        stats: Precomputed {layer: E[k k^T]} for the edited layers (else computed/cached).
        progress: Show progress bars.

    Returns:
        {parameter name: float32 delta in the parameter's layout}, one per edited layer.
    """
    config, objective, prefixes = prepare(model, requests, config, METHOD)
    moments = second_moments(model, config, stats, progress=progress, force=True)
    lam = config.mom2_update_weight

    def solve(_i: int, layer: int, keys: torch.Tensor, resid: torch.Tensor) -> torch.Tensor:
        return memit_update(keys, resid, moments[layer], lam)

    return spread(model, requests, config, objective, prefixes, solve, progress=progress)


def memit_update(keys: torch.Tensor, resid: torch.Tensor, c: torch.Tensor, lam: float) -> torch.Tensor:
    """D = R K^T (lam C + K K^T)^-1: the least-squares update of MEMIT's Eq. 14.

    Args:
        keys: K [d_key, n].
        resid: R [d_out, n], the change of output wanted for each key.
        c: C = E[k k^T] [d_key, d_key].
        lam: mom2_update_weight.

    Returns:
        D [d_out, d_key] (float32).
    """
    k = keys.double()
    a = lam * c.double().to(k.device) + k @ k.T
    # D A = R K^T  <=>  A D^T = K R^T (A is symmetric).
    return solve_system(a, k @ resid.double().to(k.device).T, "memit").T.float()



def spread(model: Model, requests: Sequence[EditRequest], config: MemitConfig, objective: Objective,
           prefixes: list[str], solve: LayerSolve, *, progress: bool = False
           ) -> dict[str, torch.Tensor]:
    """Optimise the target residuals at the top layer, then write them layer by layer.

    Shared by MEMIT and AlphaEdit, which differ only in `solve`.
    """
    requests = list(requests)
    layers = list(config.layers)
    top = layers[-1]
    targets = optimise_values(model, requests, layer=top, site="resid", prefixes=prefixes,
                              config=config, objective=objective, progress=progress)
    log.info("%d target residual(s) at layer %d; objective loss mean %.3g, max %.3g",
             len(requests), top, float(targets.loss.mean()), float(targets.loss.max()))
    prompts, subjects = [r.prompt for r in requests], [r.subject for r in requests]
    bare = lookups(model, prompts, subjects, ("",), fact_token=config.fact_token)
    deltas: dict[str, torch.Tensor] = {}
    with scratch_weights(model, layers):
        for i, layer in enumerate(layers):
            keys = compute_keys(model, prompts, subjects, prefixes, [layer],
                                fact_token=config.fact_token, batch_size=config.batch_size)[layer]
            current = read_sites(model, bare, [top], "resid", batch_size=config.batch_size)[top]
            resid = (targets.values - current) / (len(layers) - i)
            delta = solve(i, layer, keys.T.to(model.device), resid.T.to(model.device)).cpu()
            if not torch.isfinite(delta).all():
                raise EditError(f"the update of layer {layer} contains NaN or inf (degenerate "
                                "statistics?); the model was not changed")
            add_to_weight(model, layer, delta)
            deltas[param_name(model, layer)] = to_param_layout(model, delta)
            log.info("layer %d: ||residual|| %.3g, ||delta|| %.3g", layer,
                     float(resid.norm(dim=1).mean()), float(delta.norm()))
    return deltas


def apply(model: Model, requests: Sequence[EditRequest], config: Any = None, *,
          stats: dict[int, torch.Tensor] | None = None, progress: bool = False) -> Any:
    """Compute the MEMIT edit and apply it; returns an `EditResult` (restore(), save())."""
    from biaskit.editors.result import apply_deltas

    cfg = prepare_config(model, config, METHOD)
    deltas = compute(model, requests, cfg, stats=stats, progress=progress)
    return apply_deltas(model, deltas, method=METHOD, requests=requests, config=cfg,
                        layers=cfg.layers)
