"""Attention from a target token to a group term, per layer and head, with CIs.

For a template where one token refers back to a group term (the pronoun slot after a
profession: "The pilot said that [he]"), the weight a head puts from that token onto the
term's pieces is a direct, if partial, view of which heads route the association (Vig et
al., 2020, read attention from a pronoun to the profession it resolves to). This module
reads those weights with hooks, averages them over items per layer x head with bootstrap
CIs, ranks the heads, and `compare_attention` tells which heads changed between two
variants of a model (an edit, an adapter) with a paired bootstrap over the same items.
Items (which tokens to read) come from `biaskit.analysis.attention_items`.

Attention weights need the *eager* attention implementation: SDPA and flash kernels never
materialise the softmax matrix. `eager_attention` switches the loaded model to eager only
for the duration of the analysis and restores the previous implementation afterwards (and
says so in the log); eager attention is slower and uses more memory, which is why biaskit
does not load models with it.

The weight reported is the sum over the term's pieces, so it lies in [0, 1]; `uniform` is
pieces / visible tokens, what a head that spreads its attention evenly would give.
Attention is not explanation (Jain & Wallace, 2019): a head that attends to the term may
not use it; pair this view with causal tracing before editing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from biaskit.analysis.attention_items import AttentionItem, attention_items
from biaskit.analysis.attention_report import (
    AttentionComparison,
    AttentionReport,
    compare_attention,
    summarise,
)
from biaskit.errors import ConfigError, DataError, ModelError

log = logging.getLogger(__name__)

__all__ = [
    "AttentionComparison", "AttentionItem", "AttentionReport", "attention_by_variant",
    "attention_items", "attention_report", "compare_attention", "eager_attention",
    "term_attention",
]


# ----------------------------------------------------------------------------- eager switch


@contextmanager
def eager_attention(model: Any) -> Iterator[None]:
    """Run the block with the eager attention implementation, then restore the previous one.

    Why: only eager attention materialises the attention probabilities; SDPA/flash kernels
    fuse them away. transformers 5 switches a loaded model with `set_attn_implementation`
    (older versions: `config._attn_implementation`), without reloading weights.
    """
    hf = model.hf
    before = getattr(hf.config, "_attn_implementation", None)
    if before == "eager":
        yield
        return
    log.info("attention: switching %s from %s to eager attention for this analysis "
             "(restored afterwards)", getattr(model, "name", "model"), before)
    _set_attn(hf, "eager")
    try:
        yield
    finally:
        _set_attn(hf, before)
        log.debug("attention: restored %s attention", before)


def _set_attn(hf: Any, implementation: str | None) -> None:
    setter = getattr(hf, "set_attn_implementation", None)
    if setter is not None and implementation is not None:
        setter(implementation)
    else:
        hf.config._attn_implementation = implementation


# ----------------------------------------------------------------------------- extraction


def term_attention(model: Any, items: Sequence[AttentionItem], *, layers: Any = "all",
                   batch_size: int = 16, progress: bool = True) -> tuple[np.ndarray, list[int]]:
    """Attention weight from each item's query token to its term, per layer and head.

    One forward pass per batch (right padding, so the stored indices hold); a hook on each
    requested layer's attention module reduces its `[batch, heads, T, T]` weights at once
    to `[batch, heads]`, so memory never holds all layers' full matrices. Runs under
    `eager_attention`.

    Returns:
        `(values, layers)`: values `[n_items, n_layers, n_heads]` (float64), and the layer
        indices of its second axis.

    Raises:
        ModelError: The attention module returns no weights (an unsupported implementation).
    """
    import torch

    from biaskit.batching import pad_ids
    from biaskit.progress import track

    if not items:
        raise DataError("no items to read attention from")
    if not model.adapter.causal:
        raise ModelError("attention analysis needs a causal (decoder) model")
    layer_ids = model.resolve_layers(layers)
    n_heads = int(model.config.get_text_config().num_attention_heads)
    out = np.zeros((len(items), len(layer_ids), n_heads), dtype=np.float64)
    pad = model.tokenizer.pad_token_id
    state: dict[str, Any] = {}

    def hook_for(col: int):
        def hook(_module, _inputs, output):
            weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
            if weights is None:
                raise ModelError("the attention module returned no weights; this architecture's "
                                 "attention cannot be read with eager attention")
            dev = weights.device  # layers may sit on different GPUs (device_map)
            rows = torch.arange(weights.shape[0], device=dev)
            sel = weights[rows, :, state["query"].to(dev), :].float()  # [B, H, T]
            state["sums"][:, col] = sel.sum(-1).cpu()
            state["term"][:, col] = torch.einsum("bht,bt->bh", sel, state["mask"].to(dev)).cpu()
        return hook

    handles = [model.site_module("attn_out", layer)[0].register_forward_hook(hook_for(col))
               for col, layer in enumerate(layer_ids)]
    starts = list(range(0, len(items), batch_size))
    try:
        with eager_attention(model), torch.no_grad():
            for start in track(starts, "attention", enabled=progress):
                batch = items[start:start + batch_size]
                ids, mask, _ = pad_ids([it.ids for it in batch], pad, side="right")
                term_mask = torch.zeros(ids.shape, dtype=torch.float32)
                for b, it in enumerate(batch):
                    term_mask[b, list(it.term)] = 1.0
                state.update(query=torch.tensor([it.query for it in batch], device=model.device),
                             mask=term_mask.to(model.device),
                             sums=torch.zeros(len(batch), len(layer_ids), n_heads),
                             term=torch.zeros(len(batch), len(layer_ids), n_heads))
                # the bare transformer: the LM head's logits are not needed
                model.base(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                           use_cache=False)
                if not torch.allclose(state["sums"], torch.ones_like(state["sums"]), atol=1e-2):
                    raise ModelError("attention rows do not sum to 1: the weights read are not "
                                     "softmax probabilities for this architecture")
                out[start:start + len(batch)] = state["term"].double().numpy()
    finally:
        for handle in handles:
            handle.remove()
    return out, layer_ids


def attention_report(model: Any, items: Sequence[AttentionItem], *, layers: Any = "all",
                     by: str | None = None, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                     batch_size: int = 16, progress: bool = True, variant: str = "base"
                     ) -> AttentionReport:
    """Read the attention of every item and summarise it per layer x head.

    Args:
        model: The loaded model (switched to eager attention for the duration).
        items: From `attention_items`.
        layers: `all`, an index, a list or "2-5".
        by: An item column (e.g. `language`, `gender`, `appended`): besides `all`, one
            summary per value of it.
        n_boot: Bootstrap draws for the CIs (0: means only).
        seed: Seed of the bootstrap.
        level: CI level.
        batch_size: Texts per forward pass.
        progress: Show a progress bar.
        variant: Name recorded in the config (the variant the model currently carries).
    """
    values, layer_ids = term_attention(model, items, layers=layers, batch_size=batch_size,
                                       progress=progress)
    return summarise(values, items, layer_ids, by=by, n_boot=n_boot, seed=seed, level=level,
                     config={"model": getattr(model, "name", "model"), "variant": variant})


def attention_by_variant(model: Any, items: Sequence[AttentionItem], variants: Any, *,
                         layers: Any = "all", by: str | None = None, n_boot: int = 1000,
                         seed: int = 0, level: float = 0.95, alpha: float = 0.05,
                         batch_size: int = 16, progress: bool = True
                         ) -> tuple[dict[str, AttentionReport], list[AttentionComparison]]:
    """One report per variant and a paired comparison of each against the first.

    Args:
        model: The loaded model; each variant is applied to it in turn with
            `apply_variant` and removed again afterwards (weights restored exactly).
        items: From `attention_items` (the same items for every variant: paired).
        variants: As `biaskit.models.variants.parse_variants` accepts
            (`["base", "adapters/x"]`); the first is the reference of the comparisons.
        layers: `all`, an index, a list or "2-5".
        by: Item column to summarise by as well as over all items.
        n_boot: Bootstrap draws.
        seed: Bootstrap seed (the same draws for every comparison).
        level: CI level.
        alpha: False discovery rate under which a head counts as changed.
        batch_size: Texts per forward pass.
        progress: Show progress bars.
    """
    from biaskit.models.variants import apply_variant, parse_variants

    parsed = parse_variants(variants)
    if not parsed:
        raise ConfigError("no variants to compare")
    reports: dict[str, AttentionReport] = {}
    for variant in parsed:
        with apply_variant(model, variant) as applied:
            reports[variant.name] = attention_report(
                applied, items, layers=layers, by=by, n_boot=n_boot, seed=seed, level=level,
                batch_size=batch_size, progress=progress, variant=variant.name)
    ref = parsed[0].name
    comparisons = [compare_attention(reports[ref], reports[v.name], n_boot=n_boot, seed=seed,
                                     level=level, alpha=alpha) for v in parsed[1:]]
    return reports, comparisons
