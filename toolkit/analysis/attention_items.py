"""Where to read attention: the group term's pieces and the query token of each text.

The *term* is every piece of the first occurrence of the group term (a column, or
`{{...}}` in the text). The *query* is the token whose attention is read:
- no target: the last token of the text, i.e. the position whose next-token prediction
  fills the slot ("The pilot said that" -> predicts "he");
- a target (a column, an appended word, or `[[...]]` in the text): the last piece of the
  target word, which attends back to the term once the word has been read (the last
  piece, because only then does the model know which word it is).
Positions count the tokenizer's offsets, as `biaskit.positions` does for subjects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from biaskit.errors import DataError, SubjectNotFoundError

TERM_MARK = re.compile(r"\{\{(.+?)\}\}")
TARGET_MARK = re.compile(r"\[\[(.+?)\]\]")


@dataclass(frozen=True)
class AttentionItem:
    """One text with the token positions to read.

    Attributes:
        text: The text fed to the model (markers removed, appended word included).
        ids: Its token ids.
        term: Indices into `ids` of the group term's pieces.
        query: Index into `ids` of the token whose attention is read (after the term).
        record: The source row plus `term`, `query_token` and `appended` (when a word was
            appended), kept for grouping and the items table.
    """

    text: str
    ids: tuple[int, ...]
    term: tuple[int, ...]
    query: int
    record: Mapping[str, Any] = field(default_factory=dict)

    @property
    def uniform(self) -> float:
        """The weight on the term if the query spread its attention evenly (causal mask)."""
        return len(self.term) / (self.query + 1)


def attention_items(tokenizer: Any, rows: Sequence[Mapping[str, Any]], *, text: str = "text",
                    group: str | None = "subject", target: str | None = None,
                    append: str | None = None) -> list[AttentionItem]:
    """Locate the group term and the query token in each row.

    Args:
        tokenizer: A fast tokenizer (offsets are needed).
        rows: Rows with a text column. A text containing `{{term}}` (and optionally
            `[[target]]`) is read from its markers and needs no other column.
        text: Column with the text.
        group: Column with the group term (its first occurrence in the text is used).
        target: Column with a word of the text, after the term, whose last piece is the
            query (e.g. the pronoun of a full sentence).
        append: Column with a word (or a list of words) appended to the text as the
            query: one item per word, its value kept as `appended` (lab rows: `targets`,
            giving "The pilot said that she" and "... he").

    Raises:
        DataError: A missing column, a target not after the term, or an empty text.
        SubjectNotFoundError: The group term does not occur in the text.
    """
    from biaskit.positions import encode

    if target is not None and append is not None:
        raise DataError("give either a target column or an append column, not both")
    specs: list[tuple[str, tuple[int, int], tuple[int, int] | None, dict[str, Any]]] = []
    for i, row in enumerate(rows):
        if text not in row:
            raise DataError(f"row {i}: no column {text!r}; columns are: {', '.join(row)}")
        raw = str(row[text])
        if TERM_MARK.search(raw):
            specs.append(_from_markers(raw, dict(row), i))
            continue
        if group is None or group not in row:
            raise DataError(f"row {i}: no group-term column {group!r} and no {{{{term}}}} marker "
                            f"in {raw!r}")
        term_text = str(row[group])
        start = raw.find(term_text)
        if not term_text or start < 0:
            raise SubjectNotFoundError(f"group term {term_text!r} not found in row {i}: {raw!r}")
        term_span = (start, start + len(term_text))
        if append is not None:
            words = row.get(append)
            if words is None:
                raise DataError(f"row {i}: no column {append!r} to append")
            for word in (words if isinstance(words, (list, tuple)) else [words]):
                word = str(word)
                sep = "" if raw.endswith((" ", "\n")) or word.startswith(" ") else " "
                full = raw + sep + word
                span = (len(full) - len(word.lstrip()), len(full))
                specs.append((full, term_span, span, {**row, "appended": word}))
            continue
        target_span = None
        if target is not None:
            word = str(row.get(target, ""))
            at = raw.find(word, term_span[1]) if word else -1
            if at < 0:
                raise DataError(f"row {i}: target {word!r} does not occur after the group term "
                                f"{term_text!r} in {raw!r}")
            target_span = (at, at + len(word))
        specs.append((raw, term_span, target_span, dict(row)))
    encoded = encode(tokenizer, [s[0] for s in specs], need_offsets=True)
    return [_locate(enc, *spec, index=i) for i, (enc, spec) in enumerate(zip(encoded, specs, strict=True))]


def _from_markers(raw: str, row: dict[str, Any], index: int
                  ) -> tuple[str, tuple[int, int], tuple[int, int] | None, dict[str, Any]]:
    """Strip `{{term}}` and `[[target]]` markers, returning the clean text and both spans."""
    spans: dict[str, tuple[int, int]] = {}
    out, pos = [], 0
    for m in sorted([*TERM_MARK.finditer(raw), *TARGET_MARK.finditer(raw)], key=lambda m: m.start()):
        kind = "term" if m.group(0).startswith("{{") else "target"
        if kind in spans:
            raise DataError(f"row {index}: more than one {kind} marker in {raw!r}")
        out.append(raw[pos:m.start()])
        start = sum(len(p) for p in out)
        out.append(m.group(1))
        spans[kind] = (start, start + len(m.group(1)))
        pos = m.end()
    out.append(raw[pos:])
    clean = "".join(out)
    if "target" in spans and spans["target"][0] < spans["term"][1]:
        raise DataError(f"row {index}: the [[target]] must come after the {{{{term}}}} in {raw!r}")
    row.setdefault("subject", clean[slice(*spans["term"])])
    return clean, spans["term"], spans.get("target"), row


def _locate(enc: Any, text: str, term_span: tuple[int, int], target_span: tuple[int, int] | None,
            row: dict[str, Any], *, index: int) -> AttentionItem:
    if not enc.content:
        raise DataError(f"text {index} is empty after tokenisation: {text!r}")

    def overlapping(span: tuple[int, int]) -> list[int]:
        return [j for j in enc.content if enc.offsets[j][0] < span[1] and enc.offsets[j][1] > span[0]]

    term = overlapping(term_span)
    if not term:
        raise SubjectNotFoundError(f"group term covers no token in text {index}: {text!r}")
    if target_span is None:
        query = enc.content[-1]
    else:
        pieces = overlapping(target_span)
        if not pieces:
            raise DataError(f"target covers no token in text {index}: {text!r}")
        query = max(pieces)
    if query <= max(term):
        raise DataError(f"text {index}: the query token must come after the group term "
                        f"(a causal model cannot attend forward): {text!r}")
    record = {**row, "term": text[slice(*term_span)], "n_term_tokens": len(term),
              "query_token": text[enc.offsets[query][0]:enc.offsets[query][1]]}
    return AttentionItem(text=text, ids=tuple(enc.ids), term=tuple(term), query=query, record=record)
