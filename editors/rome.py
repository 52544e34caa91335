"""ROME (Meng et al. 2022, "Locating and Editing Factual Associations in GPT").

ROME treats one layer's MLP output projection W as a linear key-value memory and inserts
one new pair (k*, v*) with the smallest change to the outputs for typical keys:

1. **Key** k*: the input of W at the subject's last token, averaged over the prompt and
   context prefixes sampled from the model (`keys.compute_keys`).
2. **Value** v*: the output of W at that token that makes the objective hold: a vector
   delta added to W's output there in every context is found by gradient descent, with a
   KL term on "{subject} is a", weight decay and a norm clamp (`values.optimise_values`,
   site `mlp_value`), and v* = W k* + delta.
3. **Rank-one update**: minimise ||W' K - W K|| subject to W' k* = v*, whose solution is

       W' = W + (v* - W k*) (C^-1 k*)^T / ((C^-1 k*)^T k*),

   C = E[k k^T] over a corpus (`stats.key_second_moments`). So W' k* = v* exactly, and
   W' k = W k for every key k with k^T C^-1 k* = 0.

Several requests are applied one after the other (each sees the previous ones), as in the
paper's sequential use. `compute` never changes the model (intermediate updates are
undone); `apply` adds the summed deltas through `result.apply_deltas`, which can restore
the original weights exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from biaskit.editors.config import EditConfig, RomeConfig, check_templates, resolve_config, with_layers
from biaskit.editors.context import sample_prefixes
from biaskit.editors.keys import (
    add_to_weight,
    bias,
    compute_keys,
    param_name,
    scratch_weights,
    to_param_layout,
    weight,
)
from biaskit.editors.objectives import Objective, check_requests, get_objective
from biaskit.editors.requests import EditRequest
from biaskit.editors.values import optimise_values
from biaskit.errors import DataError, EditError
from biaskit.models.model import Model
from biaskit.progress import track

log = logging.getLogger(__name__)

METHOD = "rome"
Config = RomeConfig


@dataclass(frozen=True)
class RomeStep:
    """One request's key and value, as used by its rank-one update (for checks).

    Attributes:
        layer: The edited layer.
        key: k* [d_key], the key averaged over the context prefixes.
        value: v* [d_out], the wanted output of the projection at k*.
        loss: The objective loss reached by the value optimisation.
    """

    layer: int
    key: torch.Tensor
    value: torch.Tensor
    loss: float


def compute(model: Model, requests: Sequence[EditRequest], config: Any = None, *,
            stats: dict[int, torch.Tensor] | None = None, progress: bool = False
            ) -> dict[str, torch.Tensor]:
    """ROME deltas for `requests`, applied in sequence, without changing the model.

    Args:
        model: The model to edit.
        requests: Edit requests (the objective decides which fields they need).
        config: A `RomeConfig`, a mapping, a hparams file path, or None for defaults.
        stats: Precomputed {layer: E[k k^T]}; computed (and cached) from the config's
            corpus when None and `mom2_adjustment` is on.
        progress: Show progress bars.

    Returns:
        {parameter name: float32 delta in the parameter's layout}.
    """
    return compute_steps(model, requests, config, stats=stats, progress=progress)[0]


def compute_steps(model: Model, requests: Sequence[EditRequest], config: Any = None, *,
                  stats: dict[int, torch.Tensor] | None = None, progress: bool = False
                  ) -> tuple[dict[str, torch.Tensor], list[RomeStep]]:
    """`compute`, also returning each request's (k*, v*)."""
    config, objective, prefixes = prepare(model, requests, config, METHOD)
    layer = config.layers[0]
    c = second_moments(model, config, stats, progress=progress).get(layer)
    keys = compute_keys(model, [r.prompt for r in requests], [r.subject for r in requests],
                        prefixes, [layer], fact_token=config.fact_token,
                        batch_size=config.batch_size)[layer]
    total = torch.zeros_like(weight(model, layer))
    steps = []
    with scratch_weights(model, [layer]):
        for i, request in enumerate(track(requests, "rome", enabled=progress and len(requests) > 1)):
            values = optimise_values(model, [request], layer=layer, site="mlp_value",
                                     prefixes=prefixes, config=config, objective=objective)
            w, b = weight(model, layer), bias(model, layer)
            # v* is the value of the averaged key k* moved by the optimised delta: the
            # optimisation added delta to each context's own output, so the update should
            # add delta too (using the bare prompt's value instead would also add
            # W (k_bare - k*) to every context).
            value = w @ keys[i] + (0 if b is None else b) + values.delta[0]
            delta = rank_one_update(w, b, keys[i], value, c)
            add_to_weight(model, layer, delta)
            total += delta
            steps.append(RomeStep(layer, keys[i], value, float(values.loss[0])))
            log.info("rome: request %d/%d (%s) at layer %d, loss %.3g, ||delta|| %.3g",
                     i + 1, len(requests), request.text, layer, float(values.loss[0]),
                     float(delta.norm()))
    if not torch.isfinite(total).all():
        raise EditError("rome: the update contains NaN or inf; the model was not changed")
    return {param_name(model, layer): to_param_layout(model, total)}, steps


def rank_one_update(w: torch.Tensor, b: torch.Tensor | None, key: torch.Tensor,
                    value: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """ROME's delta: (v* - W k* - b) (C^-1 k*)^T / ((C^-1 k*)^T k*), as [d_out, d_key].

    Args:
        w: W as [d_out, d_key] (float32).
        b: The projection's bias, or None (it cancels: the new output is W' k* + b = v*).
        key: k* [d_key].
        value: v* [d_out], the wanted output of the projection (bias included).
        c: E[k k^T] [d_key, d_key], or None for the identity (no covariance adjustment).
    """
    k = key.double().to(w.device)
    u = k if c is None else solve_system(c.double().to(w.device), k, "rome")
    denom = u @ k
    if not torch.isfinite(denom) or denom.abs() < 1e-12:
        raise EditError("rome: the key is (numerically) in the null space of C^-1; the update "
                        "is undefined (is the key zero? are the statistics degenerate?)")
    current = w.double() @ k + (0.0 if b is None else b.double().to(w.device))
    resid = value.double().to(w.device) - current
    return (torch.outer(resid, u) / denom).float()


def apply(model: Model, requests: Sequence[EditRequest], config: Any = None, *,
          stats: dict[int, torch.Tensor] | None = None, progress: bool = False) -> Any:
    """Compute the ROME edit and apply it; returns an `EditResult` (restore(), save())."""
    from biaskit.editors.result import apply_deltas

    cfg = prepare_config(model, config, METHOD)
    deltas = compute(model, requests, cfg, stats=stats, progress=progress)
    return apply_deltas(model, deltas, method=METHOD, requests=requests, config=cfg,
                        layers=cfg.layers)


# -- shared by ROME, MEMIT and AlphaEdit ----------------------------------------------------

def prepare_config(model: Model, config: Any, method: str) -> EditConfig:
    """The method's config for this model: layers checked (defaults filled), templates checked."""
    cfg = with_layers(resolve_config(method, config), method, model)
    check_templates(model, cfg)
    if not model.adapter.causal:
        raise DataError(f"{method} edits causal language models; {model.model_type} is an encoder")
    return cfg


def prepare(model: Model, requests: Sequence[EditRequest], config: Any, method: str
            ) -> tuple[EditConfig, Objective, list[str]]:
    """Config, objective (checked against the requests) and context prefixes of an edit."""
    cfg = prepare_config(model, config, method)
    requests = list(requests)
    if any(not isinstance(r, EditRequest) for r in requests):
        raise DataError("requests must be EditRequest objects (see biaskit.editors.load_requests)")
    objective = get_objective(cfg.objective, mass_weight=cfg.mass_weight, stop=cfg.v_stop_loss)
    check_requests(requests, objective)
    sizes = {len(objective.targets(r)) for r in requests}
    if len(sizes) > 1:
        raise DataError(f"all requests of one edit need the same number of group terms, got {sorted(sizes)}")
    prefixes = sample_prefixes(model, cfg.context_template_length_params,
                               starters=cfg.context_starters, seed=cfg.seed)
    return cfg, objective, prefixes


def second_moments(model: Model, config: EditConfig, stats: dict[int, torch.Tensor] | None, *,
                   progress: bool = False, force: bool = False) -> dict[int, torch.Tensor]:
    """E[k k^T] per edited layer: given, cached/computed from the corpus, or {} if disabled."""
    if stats is not None:
        missing = [x for x in config.layers if x not in stats]
        if missing:
            raise DataError(f"stats given for layers {sorted(stats)} lack layer(s) {missing}")
        return {x: stats[x].float() for x in config.layers}
    if not config.mom2_adjustment and not force:
        return {}
    from biaskit.editors.stats import key_second_moments

    return key_second_moments(model, list(config.layers), stats_corpus(model, config),
                              n_samples=config.mom2_n_samples, max_length=config.stats_max_length,
                              batch_size=config.batch_size, dtype=config.mom2_dtype,
                              cache_dir=config.stats_dir, progress=progress)


def stats_corpus(model: Model, config: EditConfig) -> str:
    """The corpus for C: `auto` is the lab's own corpus for a lab model, else Wikipedia."""
    if config.stats_corpus != "auto":
        return config.stats_corpus
    from biaskit.editors.stats import lab_dir

    if lab_dir(model) is not None:
        return "lab"
    corpus = "hf:wikimedia/wikipedia:20231101.en:train"
    log.warning("statistics corpus: %s (set stats_corpus to a corpus like your use)", corpus)
    return corpus


def solve_system(a: torch.Tensor, b: torch.Tensor, method: str) -> torch.Tensor:
    """`torch.linalg.solve(a, b)`, with a singular system reported as an `EditError`.

    A singular system means the keys carry no information at the edited layer (a zeroed
    MLP, an attention-only block, degenerate statistics): a user error to name, not a
    LinAlgError traceback.
    """
    try:
        return torch.linalg.solve(a, b)
    except RuntimeError as exc:  # torch.linalg.LinAlgError subclasses RuntimeError
        raise EditError(f"{method}: the update's linear system is singular (are the keys at this "
                        "layer all zero, e.g. an attention-only block, or the statistics "
                        "degenerate?)") from exc
