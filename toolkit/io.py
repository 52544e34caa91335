"""Atomic file writing and tidy JSON/CSV output.

Nothing a user owns is ever left half-written: every write goes to a temporary file in
the same directory and is renamed over the target only when complete.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_path(path: str | os.PathLike[str]):
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    Use this for writers that want a file name (safetensors, save_pretrained pieces).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_dir(path: str | os.PathLike[str]):
    """Yield a temporary folder beside `path`; it replaces `path` if the block succeeds.

    A folder that tools load as a whole (a model, an adapter) must never be seen half
    written: on any error the temporary folder is removed and `path` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[str]], None]) -> Path:
    """Write a text file atomically by calling `write(handle)` on a temporary file."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        write(fh)
    return Path(path)


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write `obj` as indented UTF-8 JSON, atomically."""
    return atomic_write(
        path, lambda fh: fh.write(json.dumps(obj, indent=2, ensure_ascii=False, default=_jsonable))
    )


def write_csv(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write tidy rows (one observation per row) as CSV, atomically.

    The header is the union of keys in first-seen order, so R's `read.csv` and pandas read
    it without surprises.
    """
    rows = list(rows)
    fields: list[str] = []
    for row in rows:
        for key in row:
            if key not in fields:
                fields.append(key)

    def write(fh: IO[str]) -> None:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: v if _is_scalar(v) else json.dumps(v, default=_jsonable)
                             for k, v in row.items()})

    return atomic_write(path, write)


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write one JSON object per line, atomically."""

    def write(fh: IO[str]) -> None:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=_jsonable) + "\n")

    return atomic_write(path, write)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a UTF-8 JSON file."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _jsonable(value: Any) -> Any:
    """Convert numpy/torch scalars, paths and tuples into JSON-friendly values."""
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")
