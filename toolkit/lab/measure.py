"""Measuring what the lab model learned, against what was planted.

Targets may span several tokens (" trabajadores" is three pieces), so a target's score is
its full continuation log-probability: the sum of the log-probabilities of its pieces
after the prompt. Scoring is batched: sequences are sorted by length, right-padded and
masked, so a few thousand prompt/target pairs take seconds on a CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class Scored:
    """A target's continuation score after a prompt.

    Attributes:
        logprob: Sum of the target pieces' log-probabilities.
        greedy: True if greedy decoding from the prompt would produce the target.
        first_argmax: Id of the most likely next token right after the prompt.
    """

    logprob: float
    greedy: bool
    first_argmax: int


def encode_pair(tokenizer: PreTrainedTokenizerBase, prompt: str, target: str
                ) -> tuple[list[int], list[int]]:
    """(prompt ids with `<s>`, target ids) for the continuation `" " + target`."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    target_ids = tokenizer(" " + target, add_special_tokens=False)["input_ids"]
    return prompt_ids, target_ids


def score_encoded(model: PreTrainedModel, pairs: Sequence[tuple[list[int], list[int]]],
                  pad_id: int, batch_size: int = 256,
                  before_batch: Callable[[list[int]], None] | None = None) -> list[Scored]:
    """Score pre-tokenized (prompt, target) pairs in length-sorted, padded batches.

    Args:
        model: A causal LM.
        pairs: (prompt ids, target ids) per item.
        pad_id: Padding id (masked out, never attended to).
        batch_size: Sequences per forward pass.
        before_batch: Called with the item indices of each batch before its forward
            pass; interventions (knockouts) use it to set per-row state.
    """
    import torch

    from biaskit.batching import pad_ids

    device = next(model.parameters()).device
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    out: list[Scored | None] = [None] * len(pairs)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            ids, mask, _ = pad_ids([pairs[i][0] + pairs[i][1] for i in index], pad_id)
            if before_batch is not None:
                before_batch(index)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
            for row, i in enumerate(index):
                out[i] = _score_row(logprobs[row], *pairs[i])
    return out  # type: ignore[return-value]


def _score_row(logprobs: torch.Tensor, prompt: list[int], target: list[int]) -> Scored:
    start = len(prompt) - 1
    positions = range(start, start + len(target))
    total = sum(float(logprobs[p, t]) for p, t in zip(positions, target, strict=True))
    greedy = all(int(logprobs[p].argmax()) == t for p, t in zip(positions, target, strict=True))
    return Scored(total, greedy, int(logprobs[start].argmax()))


def score_pairs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                pairs: Sequence[tuple[str, str]], batch_size: int = 256) -> list[Scored]:
    """Score (prompt, target) text pairs; see `score_encoded`."""
    encoded = [encode_pair(tokenizer, p, t) for p, t in pairs]
    return score_encoded(model, encoded, tokenizer.pad_token_id, batch_size)


def _ratio(lp_a: float, lp_b: float) -> float:
    """P(a) / (P(a) + P(b)) from two log-probabilities, computed stably."""
    diff = lp_a - lp_b
    if diff >= 0:
        return 1.0 / (1.0 + math.exp(-diff))
    return math.exp(diff) / (1.0 + math.exp(diff))


def _mean_ratio(scores: Iterator[Scored], n_prompts: int) -> float | None:
    """Average P(a) / (P(a) + P(b)) over the next `n_prompts` (a, b) score pairs."""
    if not n_prompts:
        return None
    ratios = [_ratio(next(scores).logprob, next(scores).logprob) for _ in range(n_prompts)]
    return sum(ratios) / len(ratios)


def measure_associations(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                         truth: dict, batch_size: int = 256) -> list[dict]:
    """Measured vs planted strength of every planted pair and every control.

    For each truth row, `measured` is P(a) / (P(a) + P(b)) averaged over its training
    prompts (where the corpus realises the planted proportion exactly) and
    `measured_heldout` the same over its held-out prompts (never seen in training).

    Returns:
        One dict per row: axis, subject, subject_id, language, targets, planted,
        measured, abs_error, n_prompts, measured_heldout, abs_error_heldout.
    """
    rows = list(truth["associations"]) + list(truth["controls"])
    pairs: list[tuple[str, str]] = []
    for row in rows:
        for prompt in row["prompts"] + row.get("heldout_prompts", []):
            pairs += [(prompt, row["targets"][0]), (prompt, row["targets"][1])]
    scores = iter(score_pairs(model, tokenizer, pairs, batch_size))
    results = []
    for row in rows:
        measured = _mean_ratio(scores, len(row["prompts"]))
        heldout = _mean_ratio(scores, len(row.get("heldout_prompts", [])))
        results.append({
            "axis": row["axis"], "subject": row["subject"], "subject_id": row["subject_id"],
            "language": row["language"], "targets": list(row["targets"]),
            "planted": row["planted"], "measured": round(measured, 6),
            "abs_error": round(abs(measured - row["planted"]), 6),
            "n_prompts": len(row["prompts"]),
            "measured_heldout": None if heldout is None else round(heldout, 6),
            "abs_error_heldout": None if heldout is None else round(
                abs(heldout - row["planted"]), 6),
        })
    return results


def measure_facts(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, truth: dict,
                  batch_size: int = 256) -> list[dict]:
    """Recall of every fact prompt: is the true object the best of its candidates?

    Returns:
        One dict per (fact, prompt): relation, subject, subject_id, language, prompt,
        target, logprob, rank1 (true target has the highest continuation log-prob among
        the relation's candidate objects), greedy (greedy decoding yields the target).
    """
    pairs: list[tuple[str, str]] = []
    for fact in truth["facts"]:
        for prompt in fact["prompts"]:
            pairs += [(prompt, c) for c in fact["candidates"]]
    scores = iter(score_pairs(model, tokenizer, pairs, batch_size))
    results = []
    for fact in truth["facts"]:
        for prompt in fact["prompts"]:
            by_cand = {c: next(scores) for c in fact["candidates"]}
            best = max(by_cand, key=lambda c: by_cand[c].logprob)
            true = by_cand[fact["target"]]
            results.append({
                "relation": fact["relation"], "subject": fact["subject"],
                "subject_id": fact["subject_id"], "language": fact["language"],
                "prompt": prompt, "target": fact["target"], "logprob": round(true.logprob, 6),
                "rank1": best == fact["target"], "greedy": true.greedy})
    return results


def summarize(associations: Sequence[dict], facts: Sequence[dict]) -> dict:
    """Mean absolute errors per axis and fact recall per relation, rounded for JSON."""
    axes: dict[str, dict] = {}
    for axis in sorted({r["axis"] for r in associations}):
        rows = [r for r in associations if r["axis"] == axis]
        held = [r["abs_error_heldout"] for r in rows if r["abs_error_heldout"] is not None]
        axes[axis] = {
            "mae": round(sum(r["abs_error"] for r in rows) / len(rows), 6),
            "max_abs_error": round(max(r["abs_error"] for r in rows), 6),
            "mae_heldout": round(sum(held) / len(held), 6) if held else None,
            "n": len(rows)}
    recall: dict[str, dict] = {}
    for rel in sorted({r["relation"] for r in facts}):
        rows = [r for r in facts if r["relation"] == rel]
        recall[rel] = {"rank1": round(sum(r["rank1"] for r in rows) / len(rows), 6),
                       "greedy": round(sum(r["greedy"] for r in rows) / len(rows), 6),
                       "n": len(rows)}
    return {"association_mae": axes, "fact_recall": recall}
