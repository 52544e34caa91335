"""Tables of texts and labels from JSONL, JSON, CSV/TSV files or `lab:<name>` references.

Every command that reads data names its columns (`--text`, `--label`, `--subject`), so
users bring their files as they are; a missing column is an error that lists the
columns the file does have.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biaskit.errors import DataError

LAB_PREFIX = "lab:"


@dataclass(frozen=True)
class Table:
    """Rows read from a file, with the column roles the user chose.

    Attributes:
        rows: One dict per row, all columns kept.
        source: Where the rows came from (a path or `lab:<name>`).
        text: Name of the text column.
        label: Name of the label column, if any.
        subject: Name of the subject column, if any.
    """

    rows: list[dict[str, Any]]
    source: str
    text: str = "text"
    label: str | None = None
    subject: str | None = None

    @property
    def texts(self) -> list[str]:
        """The text column."""
        return [str(r[self.text]) for r in self.rows]

    @property
    def labels(self) -> list[Any] | None:
        """The label column, or None when no label column was named."""
        return None if self.label is None else [r[self.label] for r in self.rows]

    @property
    def subjects(self) -> list[str] | None:
        """The subject column, or None when no subject column was named."""
        return None if self.subject is None else [str(r[self.subject]) for r in self.rows]


def read_rows(source: str | Path, *, preset: str = "lab") -> list[dict[str, Any]]:
    """Read all rows of a data file, or of a lab dataset given as `lab:<name>`.

    Args:
        source: A `.jsonl`, `.json` (a list of objects), `.csv` or `.tsv` path, or
            `lab:<name>` for a dataset that the lab model ships.
        preset: Which lab build to read `lab:` datasets from.
    """
    text = str(source)
    if text.startswith(LAB_PREFIX):
        from biaskit.lab import load_lab_dataset

        return load_lab_dataset(text[len(LAB_PREFIX):], preset=preset)
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(f"data file {text!r} does not exist")
    if path.is_dir():
        raise DataError(f"data path {text!r} is a directory; give a .jsonl, .json or .csv file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(path)
    if suffix == ".json":
        return _read_json(path)
    if suffix in (".csv", ".tsv"):
        return _read_csv(path, delimiter="\t" if suffix == ".tsv" else ",")
    raise DataError(f"cannot read {text!r}: use .jsonl, .json, .csv or .tsv")


def load_table(source: str | Path, *, text: str = "text", label: str | None = None,
               subject: str | None = None, preset: str = "lab") -> Table:
    """Read `source` and check that the named columns exist in every row."""
    rows = read_rows(source, preset=preset)
    if not rows:
        raise DataError(f"{source}: no rows")
    wanted = [c for c in (text, label, subject) if c is not None]
    _check_columns(rows, wanted, str(source))
    return Table(rows=rows, source=str(source), text=text, label=label, subject=subject)


def _check_columns(rows: Sequence[dict[str, Any]], columns: list[str], source: str) -> None:
    have = list(rows[0])
    for name in columns:
        if name not in rows[0]:
            raise DataError(f"{source}: no column {name!r}; columns are: {', '.join(have)}")
        for i, row in enumerate(rows):
            if row.get(name) in (None, ""):
                raise DataError(f"{source}: row {i + 1} has no value in column {name!r}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSONL file; a bad line is a DataError naming file and line."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: each line must be a JSON object")
            rows.append(row)
    return rows


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(f"{path}: expected a JSON list of objects")
    return data


def _read_csv(path: Path, *, delimiter: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        if reader.fieldnames is None:
            raise DataError(f"{path}: empty file (no header row)")
        return [dict(row) for row in reader]
