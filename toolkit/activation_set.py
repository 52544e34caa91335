"""`ActivationSet`: captured activations [n, layers, d] per site, with their rows' labels.

One on-disk format serves both small and huge sets: a directory with `activations.json`
(layers, sites, shards, model), `records.jsonl` (one row per activation row: the text and
its label columns) and one or more `shard-NNNNN.safetensors` files, each holding
`{site: [rows, layers, d]}`. A set captured in memory saves as one shard; a set streamed
to disk during capture is already in this format and is read shard by shard, so memory
does not grow with the number of rows.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from biaskit.errors import DataError, LayerError
from biaskit.io import atomic_dir, write_json, write_jsonl

META_FILE = "activations.json"
RECORDS_FILE = "records.jsonl"
FORMAT_VERSION = 1


@dataclass
class ActivationSet:
    """Activations of `n` rows at some layers and sites, with per-row records.

    Attributes:
        layers: Model layer indices, in storage order (axis 1 of each tensor).
        sites: Sites captured (`resid`, `mlp_out`...).
        records: One dict per row: `text` and any label columns (and, for position
            `all`, `text_index`, `token_index` and `token`).
        meta: Model name, fingerprint, positions, dtype, hidden size, etc.
        shards: Paths of shard files when the set lives on disk; empty when in memory.
        shard_rows: Rows per shard, same order as `shards`.
    """

    layers: tuple[int, ...]
    sites: tuple[str, ...]
    records: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    data: dict[str, torch.Tensor] | None = None
    shards: list[Path] = field(default_factory=list)
    shard_rows: list[int] = field(default_factory=list)

    # -- access ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    @property
    def on_disk(self) -> bool:
        """True when rows are read from shard files rather than held in memory."""
        return self.data is None

    def width(self, site: str | None = None) -> int:
        """Width d of one site's vectors (d_ff for `mlp_key`, d_model otherwise)."""
        return int(self.meta["widths"][self._site(site)])

    def column(self, name: str) -> list[Any]:
        """The values of one record column (a label) for every row."""
        if self.records and name not in self.records[0]:
            cols = ", ".join(sorted(self.records[0]))
            raise DataError(f"no column {name!r} in the activation set; columns: {cols}")
        return [r.get(name) for r in self.records]

    def _site(self, site: str | None) -> str:
        if site is None:
            if len(self.sites) != 1:
                raise DataError(f"several sites captured ({', '.join(self.sites)}): name one")
            return self.sites[0]
        if site not in self.sites:
            raise LayerError(f"site {site!r} was not captured; captured: {', '.join(self.sites)}")
        return site

    def _slot(self, layer: int) -> int:
        if layer not in self.layers:
            raise LayerError(f"layer {layer} was not captured; captured: {list(self.layers)}")
        return self.layers.index(layer)

    def tensor(self, site: str | None = None) -> torch.Tensor:
        """All rows of one site as [n, layers, d] (loads every shard of an on-disk set)."""
        site = self._site(site)
        if self.data is not None:
            return self.data[site]
        return torch.cat([chunk for chunk in self.iter_shards(site)], dim=0)

    def layer(self, layer: int, site: str | None = None) -> torch.Tensor:
        """All rows at one model layer as [n, d]; reads only that slice from disk."""
        site, slot = self._site(site), self._slot(layer)
        if self.data is not None:
            return self.data[site][:, slot]
        parts = []
        for path in self.shards:
            with safe_open(str(path), framework="pt") as fh:
                parts.append(fh.get_slice(site)[:, slot])
        return torch.cat(parts, dim=0)

    def iter_shards(self, site: str | None = None) -> Iterator[torch.Tensor]:
        """Yield [rows, layers, d] chunks in row order, one shard at a time."""
        site = self._site(site)
        if self.data is not None:
            yield self.data[site]
            return
        for path in self.shards:
            with safe_open(str(path), framework="pt") as fh:
                yield fh.get_tensor(site)

    # -- persistence -----------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the set to directory `path` atomically (a complete directory or nothing)."""
        target = Path(path)
        with atomic_dir(target) as tmp:
            shard_names: list[str] = []
            if self.data is not None:
                name = "shard-00000.safetensors"
                save_file({s: t.contiguous() for s, t in self.data.items()}, str(tmp / name))
                shard_names, rows = [name], [len(self)]
            else:
                for i, src in enumerate(self.shards):
                    name = f"shard-{i:05d}.safetensors"
                    shutil.copyfile(src, tmp / name)
                    shard_names.append(name)
                rows = list(self.shard_rows)
            write_jsonl(tmp / RECORDS_FILE, self.records)
            write_json(tmp / META_FILE, {
                "format": FORMAT_VERSION, "layers": list(self.layers), "sites": list(self.sites),
                "n": len(self), "shards": shard_names, "shard_rows": rows, "meta": self.meta,
            })
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, lazy: bool = False) -> ActivationSet:
        """Read a saved set; `lazy=True` keeps it on disk and reads slices on demand."""
        root = Path(path)
        meta_path = root / META_FILE
        if not meta_path.exists():
            raise DataError(f"{root} is not an activation set (no {META_FILE})")
        info = json.loads(meta_path.read_text(encoding="utf-8"))
        with open(root / RECORDS_FILE, encoding="utf-8") as fh:
            records = [json.loads(line) for line in fh if line.strip()]
        acts = cls(layers=tuple(info["layers"]), sites=tuple(info["sites"]), records=records,
                   meta=info.get("meta", {}), shards=[root / s for s in info["shards"]],
                   shard_rows=list(info["shard_rows"]))
        if not lazy:
            acts.data = {s: acts.tensor(s) for s in acts.sites}
            acts.shards, acts.shard_rows = [], []
        return acts


class ShardWriter:
    """Receives row chunks during capture and keeps them in memory or streams them to disk.

    Args:
        n_rows: Total rows that will be written.
        n_layers: Layers per row.
        widths: Width d of each site captured.
        dtype: Storage dtype.
        stream_dir: Where shards go; None keeps everything in memory.
    """

    def __init__(self, n_rows: int, n_layers: int, widths: dict[str, int],
                 dtype: torch.dtype, stream_dir: Path | None) -> None:
        self.dtype, self.stream_dir = dtype, stream_dir
        self.shards: list[Path] = []
        self.shard_rows: list[int] = []
        self.data: dict[str, torch.Tensor] | None = None
        self._row = 0
        if stream_dir is None:
            self.data = {s: torch.empty(n_rows, n_layers, d, dtype=dtype) for s, d in widths.items()}
        else:
            stream_dir.mkdir(parents=True, exist_ok=True)

    def write(self, chunk: dict[str, torch.Tensor]) -> None:
        """Append a chunk `{site: [rows, layers, d]}` of rows in order."""
        rows = next(iter(chunk.values())).shape[0]
        if self.data is not None:
            for site, t in chunk.items():
                self.data[site][self._row:self._row + rows] = t
        else:
            assert self.stream_dir is not None
            path = self.stream_dir / f"shard-{len(self.shards):05d}.safetensors"
            save_file({s: t.to(self.dtype).contiguous() for s, t in chunk.items()}, str(path))
            self.shards.append(path)
            self.shard_rows.append(rows)
        self._row += rows
