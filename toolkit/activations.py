"""Activation capture: one forward pass per batch reads every requested layer and site.

Capture uses plain forward hooks rather than an nnsight trace: it only reads, needs no
gradients or interventions, and hooks cost nothing measurable (the benchmark checks it
against a bare forward pass). Three things keep it fast: texts are sorted by length
inside each chunk so batches carry little padding, the LM head is never run (capture
calls the bare transformer), and the forward pass stops after the deepest requested
layer. Padding is explicit with matching `position_ids`, so left- and right-padded
batches give the same numbers as one text at a time.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from biaskit.activation_set import ActivationSet, ShardWriter
from biaskit.batching import pad_ids
from biaskit.errors import DataError
from biaskit.models.adapter import SITES
from biaskit.models.model import Model
from biaskit.positions import Encoded, encode, parse_position, token_positions
from biaskit.progress import track

log = logging.getLogger(__name__)


class _StopForward(Exception):
    """Raised by a hook after the deepest requested layer to skip the rest of the model."""


def capture(
    model: Model,
    texts: Sequence[str],
    *,
    layers: str | int | Sequence[int] = "all",
    sites: Sequence[str] = ("resid",),
    positions: str | int = "last",
    batch_size: int = 32,
    subject: str | Sequence[str] | None = None,
    records: Sequence[dict[str, Any]] | None = None,
    padding_side: str = "right",
    dtype: torch.dtype | str = torch.float16,
    max_memory_mb: float = 2048.0,
    stream_dir: str | Path | None = None,
    progress: bool = True,
) -> ActivationSet:
    """Capture activations of `texts` at `layers` x `sites` and the chosen token positions.

    Args:
        model: The loaded model.
        texts: Input texts.
        layers: `"all"`, an index, a list, or a string such as `"2-5"`.
        sites: Any of `resid`, `attn_out`, `mlp_out`, `mlp_key`.
        positions: `last`, `first`, `mean` (mask-aware average), `subject_last`, an integer
            index into the text's tokens, or `all` (one row per token).
        batch_size: Texts per forward pass.
        subject: For `subject_last`: one subject for all texts or one per text.
        records: Per-text label columns kept beside the activations (same length as texts).
        padding_side: `right` or `left`; results are the same, this is for checking.
        dtype: Storage dtype (float16 halves memory; float32 keeps full precision).
        max_memory_mb: Above this estimated size, rows are streamed to disk in shards so
            that peak memory does not grow with the number of texts.
        stream_dir: Where to stream shards (default: a new temporary directory).
        progress: Show a progress bar.

    Returns:
        An `ActivationSet` with one row per text (per token for `all`).

    Raises:
        DataError: Empty input, mismatched records, a subject not in its text...
        LayerError: A layer or site that does not exist.
    """
    texts = list(texts)
    if not texts:
        raise DataError("no texts to capture")
    if records is not None and len(records) != len(texts):
        raise DataError(f"{len(records)} records for {len(texts)} texts")
    for site in sites:
        if site not in SITES:
            raise DataError(f"unknown site {site!r}; sites are: {', '.join(SITES)}")
    if padding_side not in ("right", "left"):
        raise DataError(f"padding_side must be 'right' or 'left', not {padding_side!r}")
    position = parse_position(positions)
    layer_ids = model.resolve_layers(layers)
    store = _dtype(dtype)
    subjects = _subjects(subject, len(texts))

    encoded = encode(model.tokenizer, texts, need_offsets=position == "subject_last")
    picks = [token_positions(e, position, text=t, subject=s, index=i)
             for i, (e, t, s) in enumerate(zip(encoded, texts, subjects, strict=True))]
    rows_per_text = [len(p) if position == "all" else 1 for p in picks]
    n_rows, sites = sum(rows_per_text), tuple(sites)
    widths = {s: model.site_width(s) for s in sites}
    row_bytes = len(layer_ids) * sum(widths.values()) * store.itemsize
    streaming = n_rows * row_bytes > max_memory_mb * 2**20
    chunk_rows = max(batch_size, int(min(max_memory_mb / 4, 256) * 2**20 // row_bytes))
    out_dir = None
    if streaming:
        out_dir = Path(stream_dir) if stream_dir else Path(tempfile.mkdtemp(prefix="biaskit-acts-"))
        log.info("streaming %d rows (%.0f MB) to %s", n_rows, n_rows * row_bytes / 2**20, out_dir)
    writer = ShardWriter(n_rows, len(layer_ids), widths, store, out_dir if streaming else None)

    hooks = _Hooks(model, layer_ids, sites, store)
    chunks = _chunks(rows_per_text, chunk_rows)
    total_batches = sum(-(-len(c) // batch_size) for c in chunks)
    batches = (b for c in chunks for b in _length_sorted_batches(c, encoded, batch_size, chunk=c))
    out_records: list[dict[str, Any]] = []
    chunk_buffer: dict[str, torch.Tensor] = {}
    with hooks, torch.no_grad():
        for chunk, batch in track(batches, "capturing", total=total_batches, enabled=progress):
            if not chunk_buffer:
                chunk_rows_n = sum(rows_per_text[i] for i in chunk)
                chunk_buffer = {s: torch.empty(chunk_rows_n, len(layer_ids), d, dtype=store)
                                for s, d in widths.items()}
                row_start = _row_offsets([rows_per_text[i] for i in chunk])
                done = 0
            slots = [row_start[chunk.index(i)] for i in batch]
            hooks.run_batch(_pad(model, [encoded[i] for i in batch], padding_side),
                            [picks[i] for i in batch], slots, chunk_buffer,
                            mean=position == "mean")
            done += len(batch)
            if done == len(chunk):
                writer.write(chunk_buffer)
                chunk_buffer = {}
                for i in chunk:
                    out_records.extend(_records_for(i, texts, records, encoded[i], picks[i],
                                                    position, model.tokenizer))
    meta = {"model": model.name, "model_type": model.model_type,
            "fingerprint": model.fingerprint(), "positions": position,
            "widths": widths, "dtype": str(store).replace("torch.", ""),
            "n_texts": len(texts), "padding_side": padding_side}
    return ActivationSet(layers=tuple(layer_ids), sites=sites, records=out_records, meta=meta,
                         data=writer.data, shards=writer.shards, shard_rows=writer.shard_rows)


class _Hooks:
    """Forward hooks that copy the selected positions of each site into a buffer."""

    def __init__(self, model: Model, layers: list[int], sites: tuple[str, ...],
                 store: torch.dtype) -> None:
        self.model, self.layers, self.sites, self.store = model, layers, sites, store
        self.handles: list[Any] = []
        self.batch: dict[str, Any] = {}

    def __enter__(self) -> _Hooks:
        for slot, layer in enumerate(self.layers):
            for site in self.sites:
                module, kind = self.model.site_module(site, layer)
                if kind == "input":
                    self.handles.append(module.register_forward_pre_hook(
                        lambda _m, args, kwargs, s=site, k=slot: self._take(s, k, _first(args, kwargs)),
                        with_kwargs=True))
                else:
                    self.handles.append(module.register_forward_hook(
                        lambda _m, _a, out, s=site, k=slot: self._take(s, k, _first_out(out))))
        deepest, _ = self.model.site_module("resid", self.layers[-1])
        self.handles.append(deepest.register_forward_hook(self._stop))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def _stop(self, *_: object) -> None:
        raise _StopForward

    def _take(self, site: str, slot: int, hidden: torch.Tensor) -> None:
        b = self.batch
        if b["weights"] is not None:
            values = torch.einsum("bt,btd->bd", b["weights"], hidden.float())
        else:
            values = hidden[b["batch_index"], b["token_index"]]
        b["buffer"][site][b["rows"], slot] = values.to(self.store).cpu()

    def run_batch(self, inputs: dict[str, torch.Tensor], picks: list[list[int]],
                  slots: list[int], buffer: dict[str, torch.Tensor], *, mean: bool) -> None:
        """Run one padded batch; `slots[j]` is where text j's first row goes in `buffer`."""
        shift = inputs.pop("shift")
        device = self.model.device
        weights = None
        if mean:
            weights = torch.zeros(inputs["input_ids"].shape, dtype=torch.float32)
            for j, (p, s) in enumerate(zip(picks, shift.tolist(), strict=True)):
                weights[j, [k + s for k in p]] = 1.0 / len(p)
            rows = torch.tensor(slots)
            bidx = tidx = None
        else:
            bidx = torch.tensor([j for j, p in enumerate(picks) for _ in p])
            tidx = torch.tensor([k + int(shift[j]) for j, p in enumerate(picks) for k in p])
            rows = torch.tensor([s + r for s, p in zip(slots, picks, strict=True)
                                 for r in range(len(p))])
        self.batch = {"buffer": buffer, "rows": rows,
                      "batch_index": None if bidx is None else bidx.to(device),
                      "token_index": None if tidx is None else tidx.to(device),
                      "weights": None if weights is None else weights.to(device)}
        try:
            self.model.base(**{k: v.to(device) for k, v in inputs.items()}, use_cache=False)
        except _StopForward:
            pass


def _first(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    return args[0] if args else next(iter(kwargs.values()))


def _first_out(out: Any) -> torch.Tensor:
    """Module outputs may be a tensor or a tuple whose first item is the hidden state."""
    return out[0] if isinstance(out, (tuple, list)) else out


def _pad(model: Model, batch: list[Encoded], side: str) -> dict[str, torch.Tensor]:
    """Pad explicitly, with position ids that ignore the padding (left padding included)."""
    ids, mask, shift = pad_ids([e.ids for e in batch], model.tokenizer.pad_token_id, side=side)
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": ids, "attention_mask": mask, "position_ids": position_ids, "shift": shift}


def _chunks(rows_per_text: list[int], chunk_rows: int) -> list[list[int]]:
    """Split text indices, in order, into chunks of about `chunk_rows` output rows."""
    chunks: list[list[int]] = [[]]
    rows = 0
    for i, r in enumerate(rows_per_text):
        if chunks[-1] and rows + r > chunk_rows:
            chunks.append([])
            rows = 0
        chunks[-1].append(i)
        rows += r
    return chunks


def _length_sorted_batches(indices: list[int], encoded: list[Encoded], batch_size: int,
                           *, chunk: list[int]):
    order = sorted(indices, key=lambda i: len(encoded[i].ids))
    for k in range(0, len(order), batch_size):
        yield chunk, order[k:k + batch_size]


def _row_offsets(counts: list[int]) -> list[int]:
    out, total = [], 0
    for c in counts:
        out.append(total)
        total += c
    return out


def _records_for(i: int, texts: list[str], records: Sequence[dict[str, Any]] | None,
                 enc: Encoded, picks: list[int], position: Any, tokenizer: Any) -> list[dict]:
    base = {"text": texts[i], **(dict(records[i]) if records is not None else {})}
    if position != "all":
        return [base]
    return [{**base, "text_index": i, "token_index": k,
             "token": tokenizer.convert_ids_to_tokens(enc.ids[k])} for k in picks]


def _subjects(subject: str | Sequence[str] | None, n: int) -> list[str | None]:
    if subject is None or isinstance(subject, str):
        return [subject] * n
    subjects = list(subject)
    if len(subjects) != n:
        raise DataError(f"{len(subjects)} subjects for {n} texts")
    return subjects


def _dtype(dtype: torch.dtype | str) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    table = {"float16": torch.float16, "fp16": torch.float16, "float32": torch.float32,
             "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
    if dtype not in table:
        raise DataError(f"unknown storage dtype {dtype!r}; use float16, bfloat16 or float32")
    return table[dtype]
