"""Attention reports: per layer x head summaries, head rankings, and paired comparisons.

`AttentionReport` holds the per-item weights and their summary; `AttentionComparison`
says which heads changed between two variants of a model over the same items. Both save
tidy CSV (one row per group x layer x head) for users who plot in R, JSON, and heatmaps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biaskit.analysis.attention_items import AttentionItem
from biaskit.analysis.attention_stats import bh_qvalues, cell_summary, paired_summary
from biaskit.errors import ConfigError, DataError

ALL = "all"


@dataclass(frozen=True)
class AttentionReport:
    """Attention from the query token to the group term, per layer x head.

    Attributes:
        values: `[n_items, n_layers, n_heads]` weight on the term per item.
        layers: Layer index of each row of the second axis.
        items: One row per item: index, group, text, term, query token, uniform, and the
            source row's scalar columns.
        records: Tidy rows per (group, layer, head): mean, ci_low, ci_high, uniform, rank
            (1 = the head putting most weight on the term within its group), n.
        config: How it was computed (model, variant, n_boot, seed, level, by, layers).
    """

    values: np.ndarray
    layers: tuple[int, ...]
    items: tuple[dict[str, Any], ...]
    records: tuple[dict[str, Any], ...]
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_heads(self) -> int:
        """Heads per layer."""
        return int(self.values.shape[2])

    @property
    def groups(self) -> list[str]:
        """`all`, then each value of the `by` column."""
        return list(dict.fromkeys(r["group"] for r in self.records))

    def matrix(self, group: str = ALL, stat: str = "mean") -> np.ndarray:
        """`[n_layers, n_heads]` of one statistic (mean, ci_low, ci_high, rank) for a group."""
        out = np.full((len(self.layers), self.n_heads), np.nan)
        row = {layer: i for i, layer in enumerate(self.layers)}
        for r in self.records:
            if r["group"] == group:
                out[row[r["layer"]], r["head"]] = r[stat]
        return out

    def top_heads(self, k: int = 10, group: str = ALL) -> list[dict[str, Any]]:
        """The `k` heads putting most weight on the term (records, best first)."""
        return sorted((r for r in self.records if r["group"] == group), key=lambda r: r["rank"])[:k]

    def save(self, out: str | Path) -> Path:
        """Write the report into `out`.

        Files: attention.json (config, top heads), attention.csv (tidy, one row per group x
        layer x head), attention_items.csv, attention_values.safetensors (per-item values,
        `[item, layer, head]`) and attention_heatmap.png.
        """
        from biaskit.analysis.attention_plot import plot_heatmaps
        from biaskit.io import write_csv, write_json

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(out / "attention.csv", self.records)
        write_csv(out / "attention_items.csv", self.items)
        _save_values(out / "attention_values.safetensors", self.values, self.layers)
        top = {g: [{k: r[k] for k in ("layer", "head", "mean", "ci_low", "ci_high", "uniform")}
                   for r in self.top_heads(10, g)] for g in self.groups}
        write_json(out / "attention.json", {"config": dict(self.config), "n_items": len(self.items),
                                            "layers": list(self.layers), "n_heads": self.n_heads,
                                            "top_heads": top})
        plot_heatmaps(self, out / "attention_heatmap.png")
        return out


@dataclass(frozen=True)
class AttentionComparison:
    """Which heads changed between two variants, over the same items (paired).

    Attributes:
        reference: Name of the variant compared against (usually `base`).
        variant: Name of the other variant.
        layers: Layer indices.
        n_heads: Heads per layer.
        records: Tidy rows per (group, layer, head): reference, variant (means), diff
            (variant - reference), ci_low, ci_high, p_value, q_value (Benjamini-Hochberg
            over all cells of the group), changed (q < alpha), rank (by |diff|).
        config: n_boot, seed, level, alpha.
    """

    reference: str
    variant: str
    layers: tuple[int, ...]
    n_heads: int
    records: tuple[dict[str, Any], ...]
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def groups(self) -> list[str]:
        """`all`, then each value of the `by` column."""
        return list(dict.fromkeys(r["group"] for r in self.records))

    def matrix(self, group: str = ALL, stat: str = "diff") -> np.ndarray:
        """`[n_layers, n_heads]` of one column of the records for a group."""
        out = np.full((len(self.layers), self.n_heads), np.nan)
        row = {layer: i for i, layer in enumerate(self.layers)}
        for r in self.records:
            if r["group"] == group:
                out[row[r["layer"]], r["head"]] = float(r[stat])
        return out

    def changed(self, group: str = ALL) -> list[dict[str, Any]]:
        """Heads whose change is significant after the FDR correction, largest first."""
        return sorted((r for r in self.records if r["group"] == group and r["changed"]),
                      key=lambda r: r["rank"])

    def save(self, out: str | Path) -> Path:
        """Write compare_<variant>.csv/.json and compare_<variant>.png into `out`."""
        from biaskit.analysis.attention_plot import plot_comparison
        from biaskit.io import write_csv, write_json

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"compare_{_safe(self.variant)}"
        write_csv(out / f"{stem}.csv", self.records)
        write_json(out / f"{stem}.json", {
            "reference": self.reference, "variant": self.variant, "config": dict(self.config),
            "changed": {g: [{k: r[k] for k in ("layer", "head", "diff", "ci_low", "ci_high", "q_value")}
                            for r in self.changed(g)] for g in self.groups}})
        plot_comparison(self, out / f"{stem}.png")
        return out


def summarise(values: np.ndarray, items: Sequence[AttentionItem], layers: Sequence[int], *,
              by: str | None = None, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
              config: Mapping[str, Any] | None = None) -> AttentionReport:
    """Build an `AttentionReport` from per-item values `[n, layers, heads]`."""
    n, n_layers, n_heads = values.shape
    groups = _groups(items, by)
    uniform = np.array([it.uniform for it in items])
    records: list[dict[str, Any]] = []
    for group, mask in groups.items():
        mean, lo, hi = cell_summary(values[mask].reshape(int(mask.sum()), -1), n_boot=n_boot,
                                    seed=seed, level=level)
        order = np.argsort(-mean, kind="stable")
        rank = np.empty(order.size, dtype=int)
        rank[order] = np.arange(1, order.size + 1)
        for c in range(n_layers * n_heads):
            records.append({"group": group, "layer": int(layers[c // n_heads]), "head": c % n_heads,
                            "mean": float(mean[c]), "ci_low": float(lo[c]), "ci_high": float(hi[c]),
                            "uniform": float(uniform[mask].mean()), "rank": int(rank[c]),
                            "n": int(mask.sum())})
    rows = []
    for i, it in enumerate(items):
        extra = {k: v for k, v in it.record.items() if isinstance(v, (str, int, float, bool)) or v is None}
        rows.append({"item": i, "group": str(it.record.get(by, ALL)) if by else ALL, **extra,
                     "text": it.text, "uniform": it.uniform})
    cfg = {**dict(config or {}), "n_boot": n_boot, "seed": seed, "level": level, "by": by,
           "layers": [int(x) for x in layers]}
    return AttentionReport(values=values, layers=tuple(int(x) for x in layers), items=tuple(rows),
                           records=tuple(records), config=cfg)


def compare_attention(reference: AttentionReport, other: AttentionReport, *,
                      names: tuple[str, str] | None = None, n_boot: int = 1000, seed: int = 0,
                      level: float = 0.95, alpha: float = 0.05) -> AttentionComparison:
    """Which heads' attention to the term changed from `reference` to `other` (paired).

    Raises:
        ConfigError: The two reports were not computed on the same items and layers.
    """
    if reference.values.shape != other.values.shape or reference.layers != other.layers or [
            r["text"] for r in reference.items] != [r["text"] for r in other.items]:
        raise ConfigError("attention comparison needs two reports on the same items and layers")
    names = names or (str(reference.config.get("variant", "reference")),
                      str(other.config.get("variant", "other")))
    by = reference.config.get("by")
    n_heads = reference.n_heads
    masks = _groups_from_rows(reference.items, by)
    records: list[dict[str, Any]] = []
    for group, mask in masks.items():
        a = reference.values[mask].reshape(int(mask.sum()), -1)
        b = other.values[mask].reshape(int(mask.sum()), -1)
        diff, lo, hi, p = paired_summary(a, b, n_boot=n_boot, seed=seed, level=level)
        q = bh_qvalues(p)
        order = np.argsort(-np.abs(diff), kind="stable")
        rank = np.empty(order.size, dtype=int)
        rank[order] = np.arange(1, order.size + 1)
        for c in range(diff.size):
            records.append({"group": group, "layer": reference.layers[c // n_heads], "head": c % n_heads,
                            names[0]: float(a[:, c].mean()), names[1]: float(b[:, c].mean()),
                            "diff": float(diff[c]), "ci_low": float(lo[c]), "ci_high": float(hi[c]),
                            "p_value": float(p[c]), "q_value": float(q[c]),
                            "changed": bool(np.isfinite(q[c]) and q[c] < alpha), "rank": int(rank[c]),
                            "n": int(mask.sum())})
    return AttentionComparison(reference=names[0], variant=names[1], layers=reference.layers,
                               n_heads=n_heads, records=tuple(records),
                               config={"n_boot": n_boot, "seed": seed, "level": level, "alpha": alpha})


def _groups(items: Sequence[AttentionItem], by: str | None) -> dict[str, np.ndarray]:
    if by is not None and any(by not in it.record for it in items):
        raise DataError(f"no column {by!r} to group items by; columns are: "
                        f"{', '.join(items[0].record)}")
    return _groups_from_rows([{"group": str(it.record[by]) if by else ALL} for it in items], by)


def _groups_from_rows(rows: Sequence[Mapping[str, Any]], by: str | None) -> dict[str, np.ndarray]:
    labels = np.array([str(r["group"]) for r in rows])
    out = {ALL: np.ones(len(rows), dtype=bool)}
    if by:
        for value in dict.fromkeys(labels.tolist()):
            out[value] = labels == value
    return out


def _save_values(path: Path, values: np.ndarray, layers: Sequence[int]) -> None:
    from safetensors.numpy import save_file

    from biaskit.io import atomic_path

    with atomic_path(path) as tmp:
        save_file({"values": np.ascontiguousarray(values, dtype=np.float32)}, str(tmp),
                  metadata={"axes": "item,layer,head", "layers": ",".join(str(x) for x in layers)})


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
