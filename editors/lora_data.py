"""Training examples for LoRA fine-tunes: chat formatting, tokenisation, assistant-only labels.

A conversation is rendered with the tokenizer's chat template, so the fine-tune sees the
same text the model sees at inference. The loss must fall on what the assistant said
only (the profile-dependent behaviour under study): user and system turns and the
role headers are context, labelled -100. Labels are found by character spans: the text
is rendered once, the span of each assistant turn (its content and end-of-turn marker) is
located, and a token is trained when its first non-space character lies inside a span.
Tokenising the whole text at once keeps the tokens exactly those of inference, which
tokenising turn by turn and concatenating would not.

Tokenizers without a chat template (the lab's has none) use a plain format::

    <bos>System: {content}
    User: {content}
    Assistant: {content}<eos>

one turn per line, with the tokenizer's own BOS/EOS; the model learns the assistant's
content and its EOS.

Plain texts (not conversations) are trained on every token: `<bos> text <eos>`, as the
lab was pre-trained.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from biaskit.errors import DataError

log = logging.getLogger(__name__)

IGNORE = -100
PLAIN_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


@dataclass(frozen=True)
class Example:
    """One tokenised training sequence.

    Attributes:
        ids: Token ids.
        labels: Same length; the id where the token is trained, -100 elsewhere.
    """

    ids: tuple[int, ...]
    labels: tuple[int, ...]

    @property
    def n_trained(self) -> int:
        """Tokens that carry loss (the first token never does: nothing predicts it)."""
        return sum(1 for x in self.labels[1:] if x != IGNORE)


def messages_of(item: Any) -> tuple[dict[str, str], ...] | None:
    """The messages of a corpus item (a `Conversation`, a row with `messages`, a list of turns)."""
    if hasattr(item, "messages"):
        return tuple(item.messages)
    if isinstance(item, Mapping) and "messages" in item:
        return tuple(item["messages"])
    if isinstance(item, (list, tuple)) and item and all(isinstance(m, Mapping) for m in item):
        return tuple(item)
    return None


def text_of(item: Any) -> str | None:
    """The text of a plain-text corpus item (a string or a row with `text`)."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and isinstance(item.get("text"), str):
        return item["text"]
    return None


def render_chat(tokenizer: Any, messages: Sequence[Mapping[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The conversation as one string and the character spans of the assistant turns.

    With a chat template, the span of assistant turn i is what rendering the first i+1
    messages adds to rendering the first i with the generation prompt (so it includes
    the end-of-turn marker); a template that does not render prefixes consistently falls
    back to the span of the content itself.
    """
    if not getattr(tokenizer, "chat_template", None):
        return _render_plain(tokenizer, messages)
    msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
    full = tokenizer.apply_chat_template(msgs, tokenize=False)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for i, message in enumerate(msgs):
        if message["role"] != "assistant":
            continue
        prompt = (tokenizer.apply_chat_template(msgs[:i], tokenize=False, add_generation_prompt=True)
                  if i else "")
        turn = tokenizer.apply_chat_template(msgs[:i + 1], tokenize=False)
        if turn.startswith(prompt) and full.startswith(turn) and len(turn) > len(prompt):
            spans.append((len(prompt), len(turn)))
        else:
            start = full.find(message["content"], cursor)
            if start < 0:
                raise DataError("the chat template does not render an assistant turn's content "
                                "verbatim; cannot find what to train on")
            spans.append((start, start + len(message["content"])))
        cursor = spans[-1][1]
    return full, spans


def _render_plain(tokenizer: Any, messages: Sequence[Mapping[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    eos = getattr(tokenizer, "eos_token", None) or ""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for message in messages:
        role = message["role"]
        head = f"{PLAIN_ROLES.get(role, role.capitalize())}: "
        body = message["content"] + (eos if role == "assistant" else "")
        if role == "assistant":
            spans.append((pos + len(head), pos + len(head) + len(body)))
        parts.append(head + body + "\n")
        pos += len(parts[-1])
    return "".join(parts), spans


def encode_conversation(tokenizer: Any, messages: Sequence[Mapping[str, str]], max_length: int) -> Example:
    """Token ids of a rendered conversation with labels on assistant tokens only."""
    text, spans = render_chat(tokenizer, messages)
    templated = bool(getattr(tokenizer, "chat_template", None))
    if not getattr(tokenizer, "is_fast", False):
        return _encode_segments(tokenizer, text, spans, max_length, add_special=not templated)
    enc = tokenizer(text, add_special_tokens=not templated, return_offsets_mapping=True)
    labels = []
    for token, (start, end) in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
        # A piece is trained from its first non-space character (byte-level pieces carry
        # their leading space). A space piece whose offsets were trimmed has an empty span
        # at the next character: trained inside a turn, not as the separator before it.
        piece = text[start:end]
        core = start + (len(piece) - len(piece.lstrip())) if piece.strip() else start
        trained = any(a <= core < b if end > start else a < start < b for a, b in spans)
        labels.append(token if trained else IGNORE)
    ids = list(enc["input_ids"])
    return Example(tuple(ids[:max_length]), tuple(labels[:max_length]))


def _encode_segments(tokenizer: Any, text: str, spans: list[tuple[int, int]], max_length: int,
                     add_special: bool) -> Example:
    """Slow tokenizers (no offsets): tokenise the pieces between span edges separately."""
    ids: list[int] = []
    labels: list[int] = []
    bos = getattr(tokenizer, "bos_token_id", None)
    if add_special and bos is not None:
        ids.append(bos)
        labels.append(IGNORE)
    edges = sorted({0, len(text), *[e for s in spans for e in s]})
    for a, b in zip(edges, edges[1:], strict=False):
        piece = tokenizer(text[a:b], add_special_tokens=False)["input_ids"]
        trained = any(s <= a < e for s, e in spans)
        ids.extend(piece)
        labels.extend(piece if trained else [IGNORE] * len(piece))
    return Example(tuple(ids[:max_length]), tuple(labels[:max_length]))


def encode_text(tokenizer: Any, text: str, max_length: int) -> Example:
    """`<bos> text <eos>`, every token trained."""
    ids = list(tokenizer(text)["input_ids"])
    eos = getattr(tokenizer, "eos_token_id", None)
    if eos is not None and (not ids or ids[-1] != eos):
        ids.append(eos)
    ids = ids[:max_length]
    return Example(tuple(ids), tuple(ids))


def encode_corpus(tokenizer: Any, corpus: Iterable[Any], max_length: int) -> list[Example]:
    """Examples for every item of `corpus` (conversations or texts), dropping untrainable ones.

    Raises:
        DataError: An item that is neither a conversation nor a text, or no example left.
    """
    out: list[Example] = []
    dropped = 0
    for n, item in enumerate(corpus, 1):
        messages = messages_of(item)
        if messages is not None:
            example = encode_conversation(tokenizer, messages, max_length)
        elif (text := text_of(item)) is not None:
            example = encode_text(tokenizer, text, max_length)
        else:
            raise DataError(f"corpus item {n} is neither a conversation (messages) nor a text: "
                            f"{type(item).__name__}")
        if example.n_trained == 0:
            dropped += 1  # no assistant turn, or truncated before it
            continue
        out.append(example)
    if dropped:
        log.warning("%d corpus item(s) had no trainable token within max_length=%d and were left out",
                    dropped, max_length)
    if not out:
        raise DataError("no trainable example in the corpus (no assistant turn or text within max_length)")
    return out


def collate(examples: Sequence[Example], pad_id: int | None) -> tuple[Any, Any, Any]:
    """Right-padded `(input_ids, attention_mask, labels)`; padding is labelled -100."""
    from biaskit.batching import pad_ids

    ids, mask, _ = pad_ids([e.ids for e in examples], pad_id)
    labels, _, _ = pad_ids([e.labels for e in examples], IGNORE)
    return ids, mask, labels


def fingerprint(examples: Sequence[Example]) -> str:
    """A short hash of the exact training data (token ids and labels, in order)."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(repr((e.ids, e.labels)).encode())
    return digest.hexdigest()[:16]


def token_nll(model: Any, examples: Sequence[Example], *, batch_size: int = 8) -> list[tuple[float, int]]:
    """Per example: (summed negative log-likelihood of its trained tokens, their number).

    This is the quantity the fine-tune minimises, so held-out perplexity
    `exp(sum nll / sum n)` compares adapters on exactly what they were trained to model.
    """
    import torch

    hf = model.hf
    pad = getattr(model.tokenizer, "pad_token_id", None)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].ids))
    out: list[tuple[float, int]] = [(0.0, 0)] * len(examples)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            ids, mask, labels = collate([examples[i] for i in idx], pad)
            dev = model.device
            logits = hf(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits[:, :-1].float()
            target = labels[:, 1:].to(dev)
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target.clamp_min(0),
                                                    reduction="none")
            keep = target != IGNORE
            sums = (nll * keep).sum(1).tolist()
            counts = keep.sum(1).tolist()
            for i, s, c in zip(idx, sums, counts, strict=True):
                out[i] = (float(s), int(c))
    return out


def heldout_perplexity(model: Any, variants: Sequence[Any], groups: Mapping[str, Sequence[Any]], *,
                       max_length: int = 512, batch_size: int = 8) -> list[dict[str, Any]]:
    """Perplexity of every variant on every group's held-out conversations (assistant tokens).

    The table behind the "diagonal" check of per-group fine-tunes: each group's adapter
    should give its own group's held-out conversations the lowest perplexity.

    Args:
        model: The base `Model` (each variant is applied in turn, then removed).
        variants: `Variant`s (or anything `parse_variants` reads), e.g. base + adapters.
        groups: Group name -> held-out corpus items.
        max_length: Tokens per example.
        batch_size: Sequences per forward pass.

    Returns:
        Tidy rows: variant, group, perplexity, nll (per token), tokens, items.
    """
    import math

    from biaskit.models.variants import apply_variant, parse_variants

    encoded = {g: encode_corpus(model.tokenizer, items, max_length) for g, items in groups.items()}
    rows = []
    for variant in parse_variants(list(variants)):
        with apply_variant(model, variant):
            for group, examples in encoded.items():
                scores = token_nll(model, examples, batch_size=batch_size)
                total, n = sum(s for s, _ in scores), sum(c for _, c in scores)
                rows.append({"variant": variant.name, "group": group, "perplexity": math.exp(total / n),
                             "nll": total / n, "tokens": n, "items": len(examples)})
    return rows


def diagonal(rows: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
    """Per group: does the group's own variant have the lowest perplexity on it?

    Only groups that are also variant names are judged (the base model is never "own").
    """
    out = {}
    for group in sorted({r["group"] for r in rows}):
        here = {r["variant"]: r["perplexity"] for r in rows if r["group"] == group}
        if group in here:
            others = [v for k, v in here.items() if k != group and k != "base"]
            out[group] = all(here[group] < v for v in others)
    return out


def prepare(model: Any, corpus: Iterable[Any], config: Any) -> tuple[list[Example], int]:
    """Tokenised examples (after CDA when asked) and the number of corpus items used."""
    items = list(corpus)
    if not items:
        raise DataError("the corpus is empty")
    if config.objective == "cda":
        from biaskit.editors.cda import augment

        items = augment(items, config.cda_languages)
    return encode_corpus(model.tokenizer, items, config.max_length), len(items)


def n_steps(n_examples: int, config: Any) -> int:
    """Optimiser steps: `max_steps`, else `epochs` passes of `batch_size` examples."""
    if config.max_steps is not None:
        return config.max_steps
    return max(1, math.ceil(config.epochs * math.ceil(n_examples / config.batch_size)))


def batches(n: int, batch_size: int, seed: int) -> Iterator[list[int]]:
    """Endless seeded stream of index batches, a fresh shuffle each epoch."""
    rng = random.Random(f"biaskit-lora/{seed}")
    while True:
        order = list(range(n))
        rng.shuffle(order)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]
