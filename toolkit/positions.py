"""Which token positions to read in each text.

The rules are `last`, `first`, `mean`, `subject_last`, an index, or `all`.

Positions count the text's own tokens only: special tokens a tokenizer adds (BOS, BERT's
[CLS]/[SEP]) are skipped, so `first` is the first word piece and `last` the last one,
whatever the tokenizer adds around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from biaskit.errors import DataError, SubjectNotFoundError

POSITION_NAMES = ("last", "first", "mean", "subject_last", "all")
Position = str | int


@dataclass(frozen=True)
class Encoded:
    """One tokenised text: ids, and which of them are the text's own tokens."""

    ids: list[int]
    content: list[int]  # indices into `ids` of non-special tokens, in order
    offsets: list[tuple[int, int]]


def parse_position(value: str | int) -> Position:
    """Validate a position given as a name or an integer (also as a string, `"-2"`)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text in POSITION_NAMES:
        return text
    try:
        return int(text)
    except ValueError:
        raise DataError(
            f"unknown position {value!r}; use one of {', '.join(POSITION_NAMES)} or an integer"
        ) from None


def encode(tokenizer, texts: Sequence[str], *, need_offsets: bool) -> list[Encoded]:
    """Tokenise without padding, keeping offsets and the special-token mask."""
    if need_offsets and not getattr(tokenizer, "is_fast", False):
        raise DataError("subject positions need a fast tokenizer (offset mappings)")
    enc = tokenizer(
        list(texts), add_special_tokens=True, return_special_tokens_mask=True,
        return_offsets_mapping=need_offsets,
    )
    out = []
    for i, ids in enumerate(enc["input_ids"]):
        special = enc["special_tokens_mask"][i]
        content = [j for j, s in enumerate(special) if not s]
        offsets = [tuple(o) for o in enc["offset_mapping"][i]] if need_offsets else []
        out.append(Encoded(ids=list(ids), content=content, offsets=offsets))
    return out


def token_positions(enc: Encoded, position: Position, *, text: str, subject: str | None,
                    index: int) -> list[int]:
    """Indices into `enc.ids` to read for one text (several for `mean` and `all`).

    Args:
        enc: The encoded text.
        position: The position rule.
        text: The raw text (for subject search).
        subject: The subject string, for `subject_last`.
        index: The text's row number, for error messages.
    """
    if not enc.content:
        raise DataError(f"text {index} is empty after tokenisation: {text!r}")
    if position == "last":
        return [enc.content[-1]]
    if position == "first":
        return [enc.content[0]]
    if position in ("mean", "all"):
        return list(enc.content)
    if position == "subject_last":
        return [subject_last_token(enc, text, subject, index)]
    if isinstance(position, int):
        n = len(enc.content)
        if not -n <= position < n:
            raise DataError(f"position {position} is beyond text {index}, which has {n} tokens")
        return [enc.content[position]]
    raise DataError(f"unknown position {position!r}")


def subject_last_token(enc: Encoded, text: str, subject: str | None, index: int) -> int:
    """Index of the last token overlapping the first occurrence of `subject` in `text`."""
    if not subject:
        raise DataError("position 'subject_last' needs a subject (a --subject column)")
    start = text.find(subject)
    if start < 0:
        raise SubjectNotFoundError(f"subject {subject!r} not found in text {index}: {text!r}")
    end = start + len(subject)
    hits = [j for j in enc.content if enc.offsets[j][0] < end and enc.offsets[j][1] > start]
    if not hits:
        raise SubjectNotFoundError(f"subject {subject!r} covers no token in text {index}: {text!r}")
    return max(hits)


def subject_token_span(enc: Encoded, text: str, subject: str, index: int = 0) -> list[int]:
    """All token indices overlapping the first occurrence of `subject` (for tracing)."""
    last = subject_last_token(enc, text, subject, index)
    start = text.find(subject)
    return [j for j in enc.content if enc.offsets[j][1] > start and j <= last]
