"""The key space of an edit: where each request's key is read, and the matrix it feeds.

ROME and MEMIT treat the MLP output projection W of a layer as a linear associative memory:
its input at the subject's last token is the *key* k (the `mlp_key` site), its output the
*value*. This module finds that token in every (prefix, prompt) text, reads keys and other
sites there for all requests and prefixes in one forward pass per batch (no loop over
requests or tokens), and hides the one layout difference between architectures: GPT-2's
`Conv1D` stores W as [in, out] where `nn.Linear` stores [out, in]. Editors always work
with W as [d_out, d_key].
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch

from biaskit.batching import pad_ids
from biaskit.errors import DataError
from biaskit.models.model import Model
from biaskit.positions import Encoded, encode, subject_last_token, subject_token_span

FACT_TOKENS: tuple[str, ...] = ("subject_last", "subject_first", "subject_first_after_last", "last")
"""Where a key can be read, as in ROME's code: the subject's last or first token, the
token right after the subject, or the prompt's last token."""

Site = Literal["mlp_key", "mlp_value", "resid"]
"""`mlp_key`: input of the rewritten projection; `mlp_value`: its output; `resid`: block output."""


@dataclass(frozen=True)
class Lookup:
    """One text and the token whose key (or value) an edit reads.

    Attributes:
        text: The full text (prefix + prompt with the subject).
        ids: Its token ids (special tokens included).
        position: Index into `ids` of the token to read.
        request: Index of the request it belongs to.
    """

    text: str
    ids: tuple[int, ...]
    position: int
    request: int


def filled(prompt: str, subject: str) -> tuple[str, int]:
    """`prompt` with `subject` in its `{}` slot, and the subject's character offset."""
    at = prompt.find("{}")
    if at < 0:
        raise DataError(f"prompt {prompt!r} has no '{{}}' slot for the subject")
    return prompt[:at] + subject + prompt[at + 2:], at


def lookups(model: Model, prompts: Sequence[str], subjects: Sequence[str],
            prefixes: Sequence[str] = ("",), *, fact_token: str = "subject_last",
            request_ids: Sequence[int] | None = None) -> list[Lookup]:
    """One `Lookup` per (prompt, prefix), prompt-major: [p0+x0, p0+x1, ..., p1+x0, ...].

    The subject is located at its slot in the prompt, not searched for in the text, so a
    prefix that happens to contain the subject's name cannot move the key.

    Args:
        model: The model (for its tokenizer).
        prompts: Templates with one `{}`.
        subjects: One subject per prompt.
        prefixes: Context prefixes ("" is the bare prompt).
        fact_token: One of `FACT_TOKENS`: `subject_last` (the papers' choice),
            `subject_first`, `subject_first_after_last` (the token after the subject) or
            `last` (the text's last token).
        request_ids: Request index of each prompt (default: its position).

    Raises:
        SubjectNotFoundError: The subject covers no token.
        DataError: Unknown `fact_token`, or `subject_first_after_last` with the subject at
            the end of a prompt.
    """
    if fact_token not in FACT_TOKENS:
        raise DataError(f"fact_token must be one of {', '.join(FACT_TOKENS)}; not {fact_token!r}")
    texts, masked, owners = [], [], []
    for i, (prompt, subject) in enumerate(zip(prompts, subjects, strict=True)):
        text, at = filled(prompt, subject)
        for prefix in prefixes:
            texts.append(prefix + text)
            # Blank everything but the slot, so the subject search finds the slot itself.
            start = len(prefix) + at
            masked.append("\0" * start + subject + "\0" * (len(text) - at - len(subject)))
            owners.append(i)
    encoded = encode(model.tokenizer, texts, need_offsets=fact_token != "last")
    out = []
    for j, (enc, text, mask, i) in enumerate(zip(encoded, texts, masked, owners, strict=True)):
        pos = _fact_position(enc, mask, subjects[i], j, fact_token, text)
        out.append(Lookup(text=text, ids=tuple(enc.ids), position=pos,
                          request=i if request_ids is None else request_ids[i]))
    return out


def _fact_position(enc: Encoded, mask: str, subject: str, index: int, fact_token: str, text: str) -> int:
    if fact_token == "last":
        return enc.content[-1]
    if fact_token == "subject_first":
        return subject_token_span(enc, mask, subject, index)[0]
    last = subject_last_token(enc, mask, subject, index)
    if fact_token == "subject_last":
        return last
    after = [j for j in enc.content if j > last]
    if not after:
        raise DataError(f"fact_token 'subject_first_after_last': nothing follows the subject "
                        f"{subject!r} in {text!r}")
    return after[0]


class _Stop(Exception):
    """Raised after the deepest hooked layer: nothing later is needed."""


def _output(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out


def hook_module(model: Model, site: Site, layer: int) -> tuple[torch.nn.Module, bool]:
    """The module holding `site` at `layer`, and True if the site is its input."""
    if site == "mlp_key":
        return model.rewrite_module(layer), True
    if site == "mlp_value":
        return model.rewrite_module(layer), False
    if site == "resid":
        return model.site_module("resid", layer)[0], False
    raise DataError(f"unknown edit site {site!r}")


@torch.no_grad()
def read_sites(model: Model, items: Sequence[Lookup], layers: Sequence[int], site: Site, *,
               batch_size: int = 32) -> dict[int, torch.Tensor]:
    """`site` at each lookup's token, for every layer: {layer: float32 [n_items, d]}.

    One forward pass per batch reads all layers; it stops after the deepest one.
    """
    layers = sorted(set(layers))
    rows: dict[int, list[torch.Tensor]] = {layer: [] for layer in layers}
    current: dict[str, torch.Tensor] = {}
    handles = []
    for layer in layers:
        module, is_input = hook_module(model, site, layer)
        if is_input:
            handles.append(module.register_forward_pre_hook(
                lambda _m, args, kw, k=layer: rows[k].append(_pick(args[0] if args else next(
                    iter(kw.values())), current)), with_kwargs=True))
        else:
            handles.append(module.register_forward_hook(
                lambda _m, _a, out, k=layer: rows[k].append(_pick(_output(out), current))))
    deepest = model.site_module("resid", layers[-1])[0]
    handles.append(deepest.register_forward_hook(lambda *_: _raise()))
    try:
        for start in range(0, len(items), batch_size):
            batch = items[start:start + batch_size]
            inputs = padded(model, [b.ids for b in batch])
            current["b"] = torch.arange(len(batch), device=model.device)
            current["t"] = torch.tensor([b.position for b in batch], device=model.device)
            try:
                model.base(**inputs, use_cache=False)
            except _Stop:
                pass
    finally:
        for h in handles:
            h.remove()
    return {k: torch.cat(v).float().cpu() for k, v in rows.items()}


def _raise() -> None:
    raise _Stop


def _pick(hidden: torch.Tensor, current: dict[str, torch.Tensor]) -> torch.Tensor:
    return hidden[current["b"], current["t"]].detach()


def padded(model: Model, seqs: Sequence[Sequence[int]], side: str = "right") -> dict[str, torch.Tensor]:
    """A padded batch on the model's device, with position ids that skip the padding.

    Left padding gives the same numbers as right padding, with every row ending at the
    last position (so only the last positions need the LM head).
    """
    ids, mask, _ = pad_ids(seqs, model.tokenizer.pad_token_id, side=side)
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": ids.to(model.device), "attention_mask": mask.to(model.device),
            "position_ids": position_ids.to(model.device)}


def compute_keys(model: Model, prompts: Sequence[str], subjects: Sequence[str],
                 prefixes: Sequence[str], layers: Sequence[int], *,
                 fact_token: str = "subject_last", batch_size: int = 32) -> dict[int, torch.Tensor]:
    """Each request's key per layer, averaged over the context prefixes (ROME's k*).

    Returns:
        {layer: float32 [n_requests, d_key]}.
    """
    items = lookups(model, prompts, subjects, prefixes, fact_token=fact_token)
    raw = read_sites(model, items, layers, "mlp_key", batch_size=batch_size)
    n, p = len(prompts), len(prefixes)
    return {k: v.view(n, p, -1).mean(dim=1) for k, v in raw.items()}


# -- the rewritten matrix ------------------------------------------------------------------

def param_name(model: Model, layer: int) -> str:
    """Name of the rewritten weight as in `model.hf.named_parameters()`."""
    return f"{model.adapter.rewrite_path(model.hf, layer)}.weight"


def weight(model: Model, layer: int) -> torch.Tensor:
    """The rewritten weight as a float32 [d_out, d_key] copy (Conv1D transposed)."""
    w = model.rewrite_module(layer).weight.detach().float()
    return (w.t() if model.adapter.conv1d else w).clone()


def bias(model: Model, layer: int) -> torch.Tensor | None:
    """The rewritten projection's bias (float32), or None."""
    b = getattr(model.rewrite_module(layer), "bias", None)
    return None if b is None else b.detach().float()


def to_param_layout(model: Model, delta: torch.Tensor) -> torch.Tensor:
    """A [d_out, d_key] delta in the parameter's own layout ([d_key, d_out] for Conv1D)."""
    return delta.t().contiguous() if model.adapter.conv1d else delta


def add_to_weight(model: Model, layer: int, delta: torch.Tensor) -> None:
    """W += delta ([d_out, d_key], float32) in place, computed in float32."""
    param = model.rewrite_module(layer).weight
    with torch.no_grad():
        new = param.float() + to_param_layout(model, delta).to(param.device)
        param.copy_(new.to(param.dtype))


@contextmanager
def scratch_weights(model: Model, layers: Sequence[int]) -> Iterator[None]:
    """Let a computation modify the rewritten weights; always put the originals back.

    Multi-step editors (ROME over several requests, MEMIT over several layers) apply
    each step's update before computing the next one. The weights are restored exactly
    (from clones) when the block ends, whether or not it succeeded: computing an edit
    never changes the model; applying it is `result.apply_deltas`.
    """
    params = [model.rewrite_module(layer).weight for layer in layers]
    saved = [p.detach().clone() for p in params]
    try:
        yield
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)
