"""`Scores`: what an evaluation suite returns, and `compare` for before/after an edit.

A `Scores` keeps every aggregate (`Metric`: value, 95% CI, n, and grouping fields such as
`bias_type` or `category`) *and* the tidy per-item rows it was computed from. Each metric
also records how it is computed from those rows (`StatSpec`: a registered statistic, the
item columns it reads, the rows it covers), so `compare` can recompute it on resampled
shared items of two runs — a paired bootstrap — long after the models are gone.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biaskit.errors import DataError
from biaskit.eval import stats
from biaskit.io import write_csv, write_json

GROUP_FIELDS = ("language", "category", "bias_type", "axis", "group", "split", "subset")
CATEGORICAL_ROLES = frozenset({"term", "group"})
ITEM_ID = "item_id"


@dataclass(frozen=True)
class StatSpec:
    """How a metric is computed from item rows.

    Attributes:
        kind: A statistic registered in `biaskit.eval.stats.STATISTICS`.
        columns: Role the statistic reads (e.g. "x", "num") -> item column name.
        where: Item rows it covers: column -> required value (all must match).
    """

    kind: str
    columns: tuple[tuple[str, str], ...]
    where: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, kind: str, columns: Mapping[str, str], where: Mapping[str, Any] | None = None
           ) -> StatSpec:
        """Build from plain mappings (sorted, so equal specs compare equal)."""
        return cls(kind, tuple(sorted(columns.items())), tuple(sorted((where or {}).items())))

    def select(self, items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The item rows this metric covers: matching `where`, every numeric input defined.

        A NaN input (e.g. the gap of a one-group template) means "not applicable".
        """
        numeric = [c for role, c in self.columns if role not in CATEGORICAL_ROLES]

        def keep(r: Mapping[str, Any]) -> bool:
            for k, v in self.where:
                x = r.get(k)
                if x != v and not _same(x, v):
                    return False
            return all(math.isfinite(_num(r.get(c))) for c in numeric)

        return [r for r in items if keep(r)]

    def arrays(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """The statistic's input columns from `rows` (categorical roles become codes)."""
        out: dict[str, np.ndarray] = {}
        for role, column in self.columns:
            values = [r.get(column) for r in rows]
            if role in CATEGORICAL_ROLES:
                codes = {v: i for i, v in enumerate(sorted({str(v) for v in values}))}
                out[role] = np.array([codes[str(v)] for v in values], dtype=float)
            else:
                out[role] = np.array([_num(v) for v in values], dtype=float)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain form for scores.json."""
        return {"kind": self.kind, "columns": dict(self.columns), "where": dict(self.where)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatSpec:
        """Inverse of `to_dict`."""
        return cls.of(data["kind"], data.get("columns", {}), data.get("where", {}))


@dataclass(frozen=True)
class Metric:
    """One aggregate number with its bootstrap CI.

    Attributes:
        name: Metric name (`pct_stereotype`, `s_dis`, ...).
        value: Point estimate.
        ci_low: Lower end of the 95% bootstrap interval (NaN when undefined).
        ci_high: Upper end.
        n: Items it was computed from.
        groups: Grouping fields, e.g. `(("bias_type", "gender"),)`; empty = overall.
        stat: How to recompute it from the items (None when it cannot be).
    """

    name: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    groups: tuple[tuple[str, str], ...] = ()
    stat: StatSpec | None = None

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Identity of the metric across runs: name and groups."""
        return self.name, self.groups

    @property
    def label(self) -> str:
        """`name` or `name[bias_type=gender]`, for tables."""
        if not self.groups:
            return self.name
        return f"{self.name}[{','.join(f'{k}={v}' for k, v in self.groups)}]"

    def group(self, name: str) -> str | None:
        """Value of grouping field `name`, or None."""
        return dict(self.groups).get(name)

    def excludes(self, value: float = 0.0) -> bool:
        """True when the CI lies entirely on one side of `value`."""
        return bool(self.ci_low > value or self.ci_high < value)

    def row(self) -> dict[str, Any]:
        """Flat dict (tidy: one row per metric)."""
        out: dict[str, Any] = {"metric": self.name, **dict(self.groups), "value": self.value,
                               "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n}
        if self.stat is not None:
            out["stat"] = self.stat.to_dict()
        return out

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Metric:
        """Inverse of `row` (grouping fields are the keys that are not metric fields)."""
        skip = {"metric", "value", "ci_low", "ci_high", "n", "stat"}
        groups = tuple((k, str(v)) for k, v in row.items() if k not in skip)
        stat = StatSpec.from_dict(row["stat"]) if row.get("stat") else None
        return cls(row["metric"], _num(row["value"]), _num(row["ci_low"]), _num(row["ci_high"]),
                   int(row["n"]), groups, stat)


def metric(name: str, items: Sequence[Mapping[str, Any]], kind: str, columns: Mapping[str, str],
           *, where: Mapping[str, Any] | None = None, groups: Mapping[str, Any] | None = None,
           n_boot: int = 1000, seed: int = 0) -> Metric:
    """Compute a `Metric` from item rows with a bootstrap CI.

    Args:
        name: Metric name.
        items: All item rows of the run.
        kind: Registered statistic.
        columns: Role -> item column.
        where: Restrict to rows matching these values.
        groups: Grouping fields reported with the metric (default: `where`).
        n_boot: Bootstrap replicates.
        seed: Bootstrap seed (same seed, same CI).
    """
    spec = StatSpec.of(kind, columns, where)
    rows = spec.select(items)
    value, lo, hi = stats.bootstrap_ci(kind, spec.arrays(rows), n_boot=n_boot, seed=seed)
    shown = where if groups is None else groups
    return Metric(name, value, lo, hi, len(rows),
                  tuple((k, str(v)) for k, v in (shown or {}).items()), spec)


@dataclass(frozen=True)
class Scores:
    """The result of one suite on one model.

    Attributes:
        suite: Suite name.
        model: Model name (spec it was loaded from).
        metrics: Aggregates with CIs.
        items: Tidy per-item rows (each has an `item_id`, stable across models).
        options: Options the suite ran with (data source, prompt format, ...).
    """

    suite: str
    model: str
    metrics: tuple[Metric, ...]
    items: tuple[dict[str, Any], ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, **groups: Any) -> Metric:
        """The metric `name` with exactly these grouping fields.

        Raises:
            KeyError: No such metric (the message lists the names there are).
        """
        want = tuple((k, str(v)) for k, v in groups.items())
        for m in self.metrics:
            if m.name == name and sorted(m.groups) == sorted(want):
                return m
        names = sorted({m.name for m in self.metrics})
        raise KeyError(f"no metric {name!r} with {groups or 'no groups'} in {self.suite}; "
                       f"metrics: {', '.join(names)}")

    def select(self, name: str | None = None, **groups: Any) -> list[Metric]:
        """Metrics with this name (any if None) whose groups include `groups`."""
        return [m for m in self.metrics if (name is None or m.name == name)
                and all(m.group(k) == str(v) for k, v in groups.items())]

    def rows(self) -> list[dict[str, Any]]:
        """Metrics as tidy rows (with `suite` and `model`)."""
        return [{"suite": self.suite, "model": self.model, **{k: v for k, v in m.row().items()
                                                            if k != "stat"}}
                for m in self.metrics]

    def save(self, out: str | Path) -> Path:
        """Write `scores.json` and `items.csv` into directory `out` (atomically, each)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        items = [{"suite": self.suite, "model": self.model, **r} for r in self.items]
        write_csv(out / "items.csv", items or [{"suite": self.suite, "model": self.model}])
        write_json(out / "scores.json", {
            "suite": self.suite, "model": self.model, "options": _jsonable(self.options),
            "n_items": len(self.items),
            "metrics": [_finite(m.row()) for m in self.metrics],
        })
        return out

    @classmethod
    def load(cls, path: str | Path) -> Scores:
        """Read a directory written by `save` (or its `scores.json`)."""
        path = Path(path)
        directory = path.parent if path.suffix == ".json" else path
        try:
            data = json.loads((directory / "scores.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"no scores.json in {directory}") from None
        items: list[dict[str, Any]] = []
        if (directory / "items.csv").exists():
            with open(directory / "items.csv", encoding="utf-8", newline="") as fh:
                items = [{k: v for k, v in r.items() if k not in ("suite", "model")}
                         for r in csv.DictReader(fh)]
            items = [r for r in items if r.get(ITEM_ID) not in (None, "")]
        metrics = tuple(Metric.from_row({k: (math.nan if v is None else v) for k, v in m.items()})
                        for m in data["metrics"])
        return cls(data["suite"], data["model"], metrics, tuple(items), data.get("options", {}))


@dataclass(frozen=True)
class Difference:
    """One metric before and after, with a paired bootstrap CI of the difference."""

    name: str
    groups: tuple[tuple[str, str], ...]
    before: float
    after: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n_shared: int

    @property
    def label(self) -> str:
        """`name[group=value,...]`, for tables."""
        return Metric(self.name, 0, 0, 0, 0, self.groups).label

    def row(self) -> dict[str, Any]:
        """Flat dict (tidy)."""
        return {"metric": self.name, **dict(self.groups), "before": self.before,
                "after": self.after, "diff": self.diff, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "p_value": self.p_value, "n_shared": self.n_shared}


@dataclass(frozen=True)
class Comparison:
    """`compare(before, after)`: per metric, the difference with CI and p-value."""

    suite: str
    before_model: str
    after_model: str
    differences: tuple[Difference, ...]

    def get(self, name: str, **groups: Any) -> Difference:
        """The difference for metric `name` with exactly these grouping fields."""
        want = sorted((k, str(v)) for k, v in groups.items())
        for d in self.differences:
            if d.name == name and sorted(d.groups) == want:
                return d
        raise KeyError(f"no difference for {name!r} {groups or ''}")

    def rows(self) -> list[dict[str, Any]]:
        """Differences as tidy rows."""
        return [{"suite": self.suite, **d.row()} for d in self.differences]

    def save(self, out: str | Path) -> Path:
        """Write `comparison.csv` into `out`."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(out / "comparison.csv", self.rows())
        return out


def compare(before: Scores, after: Scores, *, n_boot: int = 1000, seed: int = 0) -> Comparison:
    """Per metric present in both runs: after - before, paired bootstrap CI and p-value.

    Items are matched by `item_id`; only items present in both runs enter the paired
    bootstrap, so a run on a subset still compares fairly. Metrics without a `StatSpec`
    (or with no shared items) get the plain difference and NaN CI.
    """
    if before.suite != after.suite:
        raise DataError(f"cannot compare suite {before.suite!r} with {after.suite!r}")
    after_by_key = {m.key: m for m in after.metrics}
    b_items = {str(r[ITEM_ID]): r for r in before.items if ITEM_ID in r}
    a_items = {str(r[ITEM_ID]): r for r in after.items if ITEM_ID in r}
    shared = [k for k in b_items if k in a_items]
    out = []
    for i, mb in enumerate(before.metrics):
        ma = after_by_key.get(mb.key)
        if ma is None:
            continue
        diff, lo, hi, p, n = ma.value - mb.value, math.nan, math.nan, math.nan, 0
        if mb.stat is not None and shared:
            keep = {id(r) for r in mb.stat.select([b_items[k] for k in shared])}
            keep_a = {id(r) for r in mb.stat.select([a_items[k] for k in shared])}
            pairs = [k for k in shared if id(b_items[k]) in keep and id(a_items[k]) in keep_a]
            n = len(pairs)
            if pairs:
                cols_b = mb.stat.arrays([b_items[k] for k in pairs])
                cols_a = mb.stat.arrays([a_items[k] for k in pairs])
                diff, lo, hi, p = stats.paired_bootstrap(mb.stat.kind, cols_b, cols_a,
                                                         n_boot=n_boot, seed=seed + i)
        out.append(Difference(mb.name, mb.groups, mb.value, ma.value, diff, lo, hi, p, n))
    return Comparison(before.suite, before.model, after.model, tuple(out))


def _num(value: Any) -> float:
    if type(value) is float or type(value) is int:  # the common cases, first
        return float(value)
    if value is None or value == "":
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value in ("True", "False"):
        return 1.0 if value == "True" else 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _same(a: Any, b: Any) -> bool:
    """Equality that survives a CSV round trip (1 == "1", 1.0 == "1.0", True == "True")."""
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        return False
    if str(a) == str(b):
        return True
    fa, fb = _num(a), _num(b)
    return not (math.isnan(fa) or math.isnan(fb)) and fa == fb


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: write null instead."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def _jsonable(options: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
            out[key] = list(value)
        else:
            out[key] = str(value)
    return out


def items_with_ids(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Check every row has a unique `item_id` (suites call this before returning)."""
    rows = tuple(rows)
    ids = [r.get(ITEM_ID) for r in rows]
    if len(set(ids)) != len(ids) or None in ids:
        raise DataError("item ids must be present and unique (duplicate rows in the data?)")
    return rows
