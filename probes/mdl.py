"""Minimum description length probing with the online code (Voita & Titov, 2020).

Accuracy says whether a probe *can* decode a label; description length says how much
effort it takes. The online code transmits the labels block by block: the first block
with a uniform code (log2 K bits per label), then each later block with a probe trained
on everything sent so far. A representation in which the label is easy to extract
needs few examples to predict well, so its codelength is short. Compression is the
uniform codelength (n log2 K bits) divided by the online codelength: 1 means nothing
was learnt, higher means a more extractable label.

All blocks of all layers are fitted in one `fit_batched` call (each block is a task
whose training mask is the prefix sent so far), which is why MDL always uses the torch
path, whatever the `backend` of `probe_layers`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from biaskit.probes.batched import fit_batched

#: Block boundaries as fractions of the data, as in Voita & Titov (2020).
DEFAULT_PORTIONS: tuple[float, ...] = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.0625,
                                       0.125, 0.25, 0.5, 1.0)
#: Weight of the uniform code mixed into each prediction (see `online_codelength`).
UNIFORM_MIX = 1e-3


@dataclass(frozen=True)
class MDLResult:
    """Online codelengths of one label at several layers.

    Attributes:
        codelength: [layers] online codelength in bits.
        uniform: Uniform codelength in bits (n log2 K), the same for every layer.
        compression: [layers] uniform / online.
        cuts: Block boundaries used (number of examples sent after each block).
    """

    codelength: np.ndarray
    uniform: float
    compression: np.ndarray
    cuts: tuple[int, ...]


def block_cuts(n: int, portions: Sequence[float] = DEFAULT_PORTIONS) -> tuple[int, ...]:
    """Increasing block ends (at least one example in the first block, n at the end)."""
    cuts = sorted({min(n, max(1, int(round(p * n)))) for p in portions} | {n})
    return tuple(cuts)


def online_codelength(X: torch.Tensor, y: np.ndarray, n_classes: int, *, C: float = 1.0,
                      seed: int = 0, portions: Sequence[float] = DEFAULT_PORTIONS,
                      max_iter: int = 1000, tol: float = 1e-4, center: bool = True) -> MDLResult:
    """Online codelength of labels `y` given features X [layers, n, d].

    The rows are sent in a random order fixed by `seed`. Each block's probe is the same
    L2-regularised logistic regression as in cross-validation (same C, standardised on
    its own training prefix). Each prediction is mixed with the uniform code at weight
    `UNIFORM_MIX` (0.1%) before coding: this costs at most 0.0015 bits per label, and
    it keeps a label unseen in a tiny first block from costing an unbounded number of
    bits (the probe's bias drifts to the one class it has seen).

    Args:
        X: Features [layers, n, d] (centred or not).
        y: Class codes [n].
        n_classes: K.
        C: Inverse L2 strength.
        seed: Order of transmission.
        portions: Block boundaries as fractions of n.
        max_iter: L-BFGS iterations per fit.
        tol: L-BFGS tolerance.
        center: Passed to `fit_batched` (False when X is already centred).
    """
    layers, n, _ = X.shape
    order = np.random.default_rng(seed).permutation(n)
    cuts = block_cuts(n, portions)
    uniform_bits = n * math.log2(n_classes)
    device = X.device
    y_t = torch.as_tensor(y, device=device).long()
    total = np.full(layers, cuts[0] * math.log2(n_classes))
    if len(cuts) > 1:
        masks = torch.zeros(len(cuts) - 1, n, dtype=torch.bool, device=device)
        for b, end in enumerate(cuts[:-1]):
            masks[b, torch.as_tensor(order[:end], device=device)] = True
        fit = fit_batched(X, y_t.expand(len(masks), n), masks, n_classes=n_classes, C=C,
                          max_iter=max_iter, tol=tol, center=center)
        log_p = fit.log_proba(X).gather(-1, y_t[None, None, :, None].expand(len(masks), layers, n, 1))
        p = (1 - UNIFORM_MIX) * log_p[..., 0].double().exp() + UNIFORM_MIX / n_classes
        bits = -torch.log2(p)  # [blocks, layers, n]
        for b in range(len(cuts) - 1):
            rows = torch.as_tensor(order[cuts[b]:cuts[b + 1]], device=device)
            total += bits[b][:, rows].sum(1).cpu().numpy()
    return MDLResult(codelength=total, uniform=uniform_bits, compression=uniform_bits / total,
                     cuts=cuts)
