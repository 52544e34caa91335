"""Log-probabilities of continuations: the one way biaskit scores a target after a prompt.

A target such as " Santiago" or " ella" may span several tokens; its probability is the
product of its tokens' conditional probabilities (the full continuation log-probability),
never just its first token's. Continuations are tokenised together with the prompt and
split at the prompt's length, so that tokenisers which merge across the boundary still
give the ids the model would really see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from biaskit.batching import pad_ids
from biaskit.errors import DataError


def continuation_ids(tokenizer: Any, prompt: str, target: str) -> tuple[list[int], list[int]]:
    """Token ids of `prompt` and of `target` as its continuation (a space is inserted).

    Raises:
        DataError: The target is empty or tokenises to nothing.
    """
    if not target or not target.strip():
        raise DataError(f"empty target after prompt {prompt!r}")
    sep = "" if prompt.endswith((" ", "\n")) or target.startswith(" ") else " "
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    full_ids = tokenizer(prompt + sep + target, add_special_tokens=True)["input_ids"]
    # Some tokenizers append EOS to every encoding; a continuation goes before it.
    prompt_ids, full_ids = _strip_eos(tokenizer, prompt_ids), _strip_eos(tokenizer, full_ids)
    if full_ids[:len(prompt_ids)] == prompt_ids and len(full_ids) > len(prompt_ids):
        return prompt_ids, full_ids[len(prompt_ids):]
    cont = tokenizer(sep + target, add_special_tokens=False)["input_ids"]
    if not cont:
        raise DataError(f"target {target!r} tokenises to nothing")
    return prompt_ids, cont


def _strip_eos(tokenizer: Any, ids: list[int]) -> list[int]:
    eos = getattr(tokenizer, "eos_token_id", None)
    return ids[:-1] if ids and eos is not None and ids[-1] == eos else ids


@torch.no_grad()
def continuation_logprobs(model: Any, prompts: Sequence[str], targets: Sequence[str], *,
                          batch_size: int = 32) -> torch.Tensor:
    """Sum of log-probabilities of each `targets[i]` after `prompts[i]`, as a float tensor.

    Args:
        model: A `biaskit.models.Model` (causal LM).
        prompts: Prompts.
        targets: One continuation per prompt.
        batch_size: Sequences per forward pass.
    """
    if len(prompts) != len(targets):
        raise DataError(f"{len(prompts)} prompts for {len(targets)} targets")
    pairs = [continuation_ids(model.tokenizer, p, t) for p, t in zip(prompts, targets, strict=True)]
    out = torch.empty(len(pairs), dtype=torch.float64)
    pad = model.tokenizer.pad_token_id or 0
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        ids, mask, _ = pad_ids([p + c for p, c in chunk], pad)
        width = ids.shape[1]
        first = min(len(p) for p, _ in chunk) - 1  # only these positions reach the LM head
        logits = model.hf(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                          logits_to_keep=width - first).logits.float()
        logp = torch.log_softmax(logits, dim=-1).cpu()
        for j, (p, c) in enumerate(chunk):
            positions = torch.arange(len(p) - 1, len(p) + len(c) - 1) - first
            out[start + j] = logp[j, positions, torch.tensor(c)].double().sum()
    return out
