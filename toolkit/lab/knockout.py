"""MLP knockouts at the subject's last token: does the lab model read its facts there?

ROME and MEMIT edit the MLP at the subject's last token in a middle layer, which only
works if the model recalls a fact by building an enriched representation at that
position. Zeroing that MLP output should then hurt recall much more than zeroing the
same MLP at another position of the same prompt. `build_lab` records this check in
metrics.json; the tests assert it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from biaskit.lab.measure import encode_pair, score_encoded
from biaskit.lab.render import SUBJECT_SLOT

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def subject_span(tokenizer: PreTrainedTokenizerBase, slot_prompt: str, subject: str
                 ) -> tuple[list[int], range]:
    """Token ids of the filled prompt (with `<s>`) and the positions of the subject.

    The span is found as ROME does: tokenize the text before the subject, then the text
    up to the end of the subject, and take the difference.

    Raises:
        ValueError: The subject's tokens differ in context (should not happen for
            prompts the lab datasets emit).
    """
    index = slot_prompt.index(SUBJECT_SLOT)
    prefix = slot_prompt[:index].rstrip()
    full = slot_prompt.replace(SUBJECT_SLOT, subject)
    through = (prefix + " " + subject) if prefix else subject
    ids = tokenizer(full)["input_ids"]
    before = tokenizer(prefix)["input_ids"] if prefix else tokenizer("")["input_ids"]
    upto = tokenizer(through)["input_ids"]
    if ids[: len(upto)] != upto or upto[: len(before)] != before:
        raise ValueError(f"subject {subject!r} does not tokenize stably in {full!r}")
    return ids, range(len(before), len(upto))


def mlp_knockout(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 facts: Sequence[dict], layers: Sequence[int] | None = None,
                 batch_size: int = 256) -> list[dict]:
    """Effect of zeroing one layer's MLP output at one position on fact recall.

    For every fact (a facts.jsonl row: `prompt` with `{}`, `subject`, `target`) and every
    layer, the MLP output is zeroed (a) at the subject's last token and (b) in turn at
    each other position that is neither `<s>`, a subject token, nor the last prompt
    token. Effects are measured on the target's continuation log-probability and on
    the most likely next token.

    Returns:
        One row per layer: layer, n (facts), n_subject_sites / n_control_sites,
        subject_drop / control_drop (mean log-prob drop of the target), subject_flip /
        control_flip (fraction of cases where the argmax next token changes); a mean
        over no sites (prompts with nothing but the subject) is None.
    """
    n_layers = len(model.model.layers)
    layers = list(range(n_layers)) if layers is None else list(layers)
    items: list[tuple[list[int], list[int]]] = []
    sites: list[tuple[int, int, str]] = []  # (fact index, position, "subject"/"control")
    for k, fact in enumerate(facts):
        ids, span = subject_span(tokenizer, fact["prompt"], fact["subject"])
        _, target = encode_pair(tokenizer, fact["prompt"].replace(
            SUBJECT_SLOT, fact["subject"]), fact["target"])
        items.append((ids, target))
        sites.append((k, span[-1], "subject"))
        sites += [(k, p, "control") for p in range(1, len(ids) - 1) if p not in span]
    pad = tokenizer.pad_token_id
    base = score_encoded(model, items, pad, batch_size)
    results = []
    for layer in layers:
        state: dict[str, list[int]] = {"pos": []}

        def set_batch(index: list[int], state: dict = state) -> None:
            state["pos"] = [sites[i][1] for i in index]

        def hook(module: torch.nn.Module, inputs: tuple, output: torch.Tensor,
                 state: dict = state) -> torch.Tensor:
            output = output.clone()
            rows = list(range(output.shape[0]))
            output[rows, state["pos"]] = 0.0
            return output

        handle = model.model.layers[layer].mlp.register_forward_hook(hook)
        try:
            ablated = score_encoded(model, [items[k] for k, _, _ in sites], pad, batch_size,
                                    before_batch=set_batch)
        finally:
            handle.remove()
        stats: dict[str, list[tuple[float, bool]]] = {"subject": [], "control": []}
        for (k, _, kind), score in zip(sites, ablated, strict=True):
            stats[kind].append((base[k].logprob - score.logprob,
                                score.first_argmax != base[k].first_argmax))
        row = {"layer": layer, "n": len(facts)}
        for kind, values in stats.items():
            row[f"n_{kind}_sites"] = len(values)
            row[f"{kind}_drop"] = _mean([v[0] for v in values])
            row[f"{kind}_flip"] = _mean([float(v[1]) for v in values])
        results.append(row)
    return results


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None
