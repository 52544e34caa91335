"""Sampling parameters and per-sample seeds that do not depend on how prompts are batched.

`transformers.generate` draws every token of a batch from one global random stream, so a
sample depends on which other prompts shared its batch and on the batch size: change
`batch_size` and every generation changes. biaskit instead gives each (prompt, sample) its
own seed, derived from the battery seed, the prompt id and the sample index, and draws
that row's tokens from its own generator (`SeededSampler`). The same seed is used for a
prompt under every variant (common random numbers), so differences between variants come
from the weights, not from the dice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from biaskit.errors import ConfigError


@dataclass(frozen=True)
class SamplingConfig:
    """How tokens are chosen.

    Attributes:
        do_sample: Sample (True) or decode greedily (False: temperature, top_p, top_k and
            seeds are then unused).
        temperature: Divides the logits before the softmax (> 0); below 1 sharpens.
        top_p: Nucleus sampling: keep the smallest set of most likely tokens whose
            probability reaches top_p (1.0: off).
        top_k: Keep only the k most likely tokens (0: off). Applied before top_p.
        max_new_tokens: Tokens generated at most per sample (generation also stops at EOS).
        seed: Battery seed from which every (prompt, sample) seed is derived.
    """

    do_sample: bool = True
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 0
    max_new_tokens: int = 48
    seed: int = 0

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be > 0 (use do_sample: false for greedy), "
                              f"got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ConfigError(f"top_k must be >= 0 (0: off), got {self.top_k}")
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")


def derive_seed(seed: int, prompt_id: str, sample: int) -> int:
    """A 63-bit seed for one (prompt, sample), stable across runs, machines and batchings."""
    digest = hashlib.sha256(f"{seed}\x1f{prompt_id}\x1f{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def filtered_probs(scores: Any, config: SamplingConfig) -> Any:
    """Probabilities after temperature, top-k and top-p, `[batch, vocab]` (float32).

    Both filters are thresholds on the values, so the kept set does not depend on how
    tied tokens happen to be ordered: top-k keeps every token at least as likely as the
    k-th, and top-p keeps every token at least as likely as the last token of the nucleus
    (the shortest prefix of the tokens in descending probability whose mass reaches
    top_p). Finding that prefix needs only a partial sort (`topk`), not a sort of the
    whole vocabulary, which would cost more than the forward pass of a small model.
    """
    import torch

    logits = scores.float() / config.temperature
    if config.top_k > 0 and config.top_k < logits.shape[-1]:
        kth = torch.topk(logits, config.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if config.top_p < 1.0:
        cut = _nucleus_cut(probs, config.top_p)
        probs = probs.masked_fill(probs < cut, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


def _nucleus_cut(probs: Any, top_p: float) -> Any:
    """Per row, the probability of the last token of the top-p nucleus, `[batch, 1]`.

    A full sort of a 50k vocabulary costs more than a small model's forward pass, so each
    row is resolved by the cheapest exact method that suffices for it alone (never for
    its batch, so the answer does not depend on the batch): a peaked row from its 1024
    most likely tokens; a flat row, whose nucleus is most of the vocabulary, from its
    4096 least likely ones (the tail that top-p drops); any other row by a full sort.
    """
    import torch

    vocab = probs.shape[-1]
    cut = torch.empty(probs.shape[0], 1, dtype=probs.dtype, device=probs.device)
    todo = torch.arange(probs.shape[0], device=probs.device)
    # from the top: the nucleus ends where the mass before a token reaches top_p
    vals = torch.topk(probs, min(1024, vocab), dim=-1).values
    inside = (vals.cumsum(-1) - vals) < top_p
    done = (~inside).any(-1) | (vals.shape[-1] == vocab)
    cut[done] = vals[done].gather(-1, inside[done].sum(-1, keepdim=True).clamp(min=1) - 1)
    todo = todo[~done]
    if todo.numel() and vocab > 1024:
        # from the bottom: tokens whose ascending cumulative mass stays <= 1 - top_p go
        low = torch.topk(probs[todo], min(4096, vocab), dim=-1, largest=False).values
        dropped = low.cumsum(-1) <= 1.0 - top_p
        found = ~dropped.all(-1)
        first_kept = dropped.sum(-1, keepdim=True).clamp(max=low.shape[-1] - 1)
        cut[todo[found]] = low[found].gather(-1, first_kept[found])
        todo = todo[~found]
    if todo.numel():
        vals = torch.sort(probs[todo], dim=-1, descending=True).values
        inside = (vals.cumsum(-1) - vals) < top_p
        cut[todo] = vals.gather(-1, inside.sum(-1, keepdim=True).clamp(min=1) - 1)
    return cut


def sample_rows(probs: Any, generators: Sequence[Any]) -> Any:
    """One token per row by inverse-CDF sampling with the row's own generator.

    One uniform draw per row and step keeps each row's random stream independent of the
    others, whatever the batch.
    """
    import torch

    u = torch.stack([torch.rand((), generator=g, dtype=torch.float64) for g in generators])
    cdf = probs.double().cumsum(-1)
    total = cdf[:, -1:]
    target = (u.to(cdf.device)[:, None] * total)
    idx = torch.searchsorted(cdf, target, right=True).clamp_(max=probs.shape[-1] - 1)
    # never pick a zero-probability token (possible only at the edge of float rounding)
    zero = probs.gather(-1, idx) <= 0
    if zero.any():
        idx = torch.where(zero, probs.argmax(-1, keepdim=True), idx)
    return idx.squeeze(-1)


class SeededSampler:
    """A transformers `LogitsProcessor` that samples each row with its own generator.

    Used with greedy decoding (`do_sample=False`): it returns scores that are -inf
    everywhere but at the token it sampled, so greedy picks exactly that token.
    """

    def __init__(self, seeds: Sequence[int], config: SamplingConfig) -> None:
        import torch

        self.config = config
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        """Scores with only this step's sampled token of each row left finite."""
        import torch

        if scores.shape[0] != len(self.generators):
            raise RuntimeError(f"sampler built for {len(self.generators)} rows got {scores.shape[0]}")
        chosen = sample_rows(filtered_probs(scores, self.config), self.generators)
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(-1, chosen[:, None], 0.0)
        return out
