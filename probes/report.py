"""`ProbeReport`: per-layer probe results, the chosen layer, and the probe directions.

Results are tidy (one record per layer x site) so that `probe.csv` reads directly into
pandas or R; the directions are tensors and go to a safetensors file beside the JSON,
in the raw activation space, ready for erasure or steering.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from biaskit.errors import DataError, LayerError
from biaskit.io import atomic_path, read_json, write_csv, write_json

JSON_FILE = "probe.json"
CSV_FILE = "probe.csv"
PNG_FILE = "probe.png"
DIRECTIONS_FILE = "probe_directions.safetensors"
FORMAT_VERSION = 1
#: Selectivity tolerance of the best-layer rule (see `choose_best`).
BEST_TOLERANCE = 0.05

#: Record columns, in CSV order. MDL columns are present only when MDL was computed.
FIELDS: tuple[str, ...] = (
    "site", "layer", "accuracy", "ci_low", "ci_high", "f1", "f1_ci_low", "f1_ci_high",
    "baseline", "control_accuracy", "control_ci_low", "control_ci_high",
    "selectivity", "selectivity_ci_low", "selectivity_ci_high", "n", "n_classes", "folds", "C",
)
MDL_FIELDS: tuple[str, ...] = ("mdl_codelength", "mdl_uniform", "mdl_compression")
PERMUTATION_FIELDS: tuple[str, ...] = ("permutation_accuracy", "permutation_p")


def choose_best(records: Sequence[dict[str, Any]],
                tolerance: float = BEST_TOLERANCE) -> tuple[str, int]:
    """The (site, layer) to report: best accuracy among the nearly most selective layers.

    Rule: keep the layers whose selectivity is within `tolerance` of the highest
    selectivity, then take the one with the highest accuracy (ties: earliest layer).
    Why not plain max accuracy: a layer can win by memorising word types (high control
    accuracy too). Why not plain max selectivity: selectivity differences of a few points
    are within fold noise, and among equally selective layers the one that decodes the
    feature best is the useful one for `locate`, erasure and steering. Without a control
    task this is the highest accuracy.
    """
    if not records:
        raise DataError("no probe records to choose a best layer from")
    pool = list(records)
    sel = [r.get("selectivity") for r in pool]
    if all(s is not None and not math.isnan(s) for s in sel):
        top = max(sel)
        pool = [r for r, s in zip(pool, sel, strict=True) if s >= top - tolerance]
    best = max(pool, key=lambda r: (r["accuracy"], -r["layer"]))
    return best["site"], int(best["layer"])


@dataclass(frozen=True)
class ProbeReport:
    """Cross-validated probe results for one label at several layers and sites.

    Attributes:
        records: One dict per (layer, site), keys `FIELDS` (+ `MDL_FIELDS` with MDL, +
            `PERMUTATION_FIELDS` with permutations).
        best_layer: Layer chosen by `choose_best`.
        best_site: Site of the best layer.
        label: The label column probed.
        classes: Class values, in the order of the direction rows.
        directions: (site, layer) -> probe weight directions [r, d], unit norm, raw
            activation space, fitted on all rows (r = 1 for two classes: the direction
            towards `classes[1]`; r = k otherwise, one per class).
        mean_directions: (site, layer) -> difference-of-class-means directions [r, d],
            unit norm (two classes: mean of `classes[1]` minus mean of `classes[0]`;
            otherwise each class's mean minus the mean of the other rows).
        config: Settings used (cv, C, seed, backend, control_by, groups, model...).
    """

    records: list[dict[str, Any]]
    best_layer: int
    best_site: str
    label: str
    classes: list[Any]
    directions: dict[tuple[str, int], torch.Tensor] = field(default_factory=dict)
    mean_directions: dict[tuple[str, int], torch.Tensor] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    # -- access ----------------------------------------------------------------------
    @property
    def sites(self) -> list[str]:
        """Sites probed, in record order."""
        return list(dict.fromkeys(r["site"] for r in self.records))

    def layers(self, site: str | None = None) -> list[int]:
        """Layers probed at `site` (default: the best site)."""
        site = self.best_site if site is None else site
        return [int(r["layer"]) for r in self.records if r["site"] == site]

    def record(self, layer: int | None = None, site: str | None = None) -> dict[str, Any]:
        """The record of one layer (default: the best layer and site)."""
        layer = self.best_layer if layer is None else layer
        site = self.best_site if site is None else site
        for r in self.records:
            if r["layer"] == layer and r["site"] == site:
                return r
        raise LayerError(f"layer {layer} at site {site!r} was not probed; probed: "
                         f"{self.layers(site) if site in self.sites else self.sites}")

    def direction(self, layer: int | None = None, site: str | None = None,
                  kind: str = "probe") -> torch.Tensor:
        """A direction [r, d] at one layer (default: best): `kind` "probe" or "mean_diff"."""
        self.record(layer, site)  # clear error for an unknown layer
        key = (self.best_site if site is None else site, self.best_layer if layer is None else layer)
        table = {"probe": self.directions, "mean_diff": self.mean_directions}.get(kind)
        if table is None:
            raise DataError(f"unknown direction kind {kind!r}; use 'probe' or 'mean_diff'")
        if key not in table:
            raise DataError(f"no {kind} direction stored for layer {key[1]} at site {key[0]!r}")
        return table[key]

    # -- persistence -----------------------------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        """Everything but the direction tensors, as plain JSON values."""
        return {
            "format": FORMAT_VERSION, "label": self.label, "classes": list(self.classes),
            "best_layer": self.best_layer, "best_site": self.best_site,
            "config": dict(self.config), "records": [dict(r) for r in self.records],
            "directions_file": DIRECTIONS_FILE,
        }

    def save(self, out_dir: str | os.PathLike[str], *, plot: bool = True) -> Path:
        """Write probe.json, probe.csv, probe_directions.safetensors and probe.png.

        Each file is written atomically. Returns the directory.
        """
        from safetensors.torch import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / JSON_FILE, self.to_json_dict())
        write_csv(out / CSV_FILE, self.records)
        tensors = {f"{s}/{layer}/probe": t for (s, layer), t in self.directions.items()}
        tensors |= {f"{s}/{layer}/mean_diff": t for (s, layer), t in self.mean_directions.items()}
        with atomic_path(out / DIRECTIONS_FILE) as tmp:
            save_file({k: v.detach().to("cpu", torch.float32).contiguous() for k, v in tensors.items()},
                      str(tmp), metadata={"label": self.label})
        if plot:
            from biaskit.probes.plot import plot_report

            with atomic_path(out / PNG_FILE) as tmp:
                plot_report(self, tmp)
        return out

    @classmethod
    def load(cls, out_dir: str | os.PathLike[str]) -> ProbeReport:
        """Read a report written by `save` (directions included when the file is there)."""
        from safetensors.torch import load_file

        root = Path(out_dir)
        if not (root / JSON_FILE).exists():
            raise DataError(f"{root} holds no probe report (no {JSON_FILE})")
        info = read_json(root / JSON_FILE)
        directions: dict[tuple[str, int], torch.Tensor] = {}
        means: dict[tuple[str, int], torch.Tensor] = {}
        path = root / info.get("directions_file", DIRECTIONS_FILE)
        if path.exists():
            for key, tensor in load_file(str(path)).items():
                site, layer, kind = key.rsplit("/", 2)
                (directions if kind == "probe" else means)[(site, int(layer))] = tensor
        return cls(records=info["records"], best_layer=int(info["best_layer"]),
                   best_site=info["best_site"], label=info["label"], classes=info["classes"],
                   directions=directions, mean_directions=means, config=info.get("config", {}))

    # -- display ---------------------------------------------------------------------
    def as_table(self):
        """A rich Table for the console: one row per layer x site, best row highlighted."""
        from rich.table import Table

        model = self.config.get("model")
        table = Table(title=f"Probe: {self.label}" + (f" ({model})" if model else ""))
        several = len(self.sites) > 1
        if several:
            table.add_column("site")
        table.add_column("layer", justify="right")
        table.add_column("accuracy [95% CI]", justify="right")
        table.add_column("macro-F1", justify="right")
        table.add_column("baseline", justify="right")
        has_control = any(r.get("control_accuracy") is not None for r in self.records)
        has_mdl = any("mdl_compression" in r for r in self.records)
        has_perm = any("permutation_p" in r for r in self.records)
        if has_perm:
            table.add_column("shuffled labels", justify="right")
            table.add_column("p", justify="right")
        if has_control:
            table.add_column("control", justify="right")
            table.add_column("selectivity [95% CI]", justify="right")
        if has_mdl:
            table.add_column("MDL compression", justify="right")
        for r in self.records:
            best = r["layer"] == self.best_layer and r["site"] == self.best_site
            cells = [r["site"]] if several else []
            cells += [f"{r['layer']}{' *' if best else ''}",
                      f"{r['accuracy']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]",
                      f"{r['f1']:.3f}", f"{r['baseline']:.3f}"]
            if has_perm:
                cells += [f"{r['permutation_accuracy']:.3f}", f"{r['permutation_p']:.3g}"]
            if has_control:
                cells += [f"{r['control_accuracy']:.3f}",
                          f"{r['selectivity']:+.3f} [{r['selectivity_ci_low']:+.3f}, "
                          f"{r['selectivity_ci_high']:+.3f}]"]
            if has_mdl:
                cells.append(f"{r['mdl_compression']:.2f}")
            table.add_row(*cells, style="bold green" if best else None)
        table.caption = ("* best layer: highest accuracy among layers within "
                         f"{BEST_TOLERANCE} of the top selectivity") if has_control \
            else "* best layer: highest accuracy (no control task)"
        return table
