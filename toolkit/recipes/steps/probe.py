"""`probe` step: can the feature be read out of each layer? (linear probes + control task)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, data_param, param

AUTO = "auto"


@dataclass(frozen=True)
class ProbeParams:
    """Parameters of the `probe` step (see docs/recipes.md)."""

    data: str = data_param(help="Texts with a label column: lab:<name>, hf:<id>, data/... or a file.")
    label: str = param(help="Column to decode at every layer (e.g. gender).")
    text: str = param("text", help="Column holding the text.")
    subject: str | None = param(AUTO, help="Column holding the subject; auto: `subject` if present.")
    positions: str | int = param(AUTO, help="Token read: auto (subject_last with a subject, else "
                                            "last), last, first, mean, subject_last, or an index.")
    layers: str | int | tuple[int, ...] = param("all", help="all, a layer, a list, or '2-5'.")
    sites: tuple[str, ...] = param(("resid",), help="Sites: resid, attn_out, mlp_out, mlp_key.")
    cv: int = param(5, help="Cross-validation folds.")
    control_by: str | None = param(AUTO, help="Column giving word types for the control task; "
                                              "auto: the subject column; null: one type per row.")
    groups: str | None = param(AUTO, help="Column kept within one fold (no memorising a subject); "
                                          "auto: the subject column; null: plain stratified folds.")
    C: float | str | tuple[float, ...] = param(1.0, help="Inverse L2 strength of the probes; "
                                               "auto (or a list) chooses it by inner CV.")
    mdl: bool = param(False, help="Also compute MDL (online codelength).")
    permutations: int = param(0, help="Also probe this many shuffles of the labels: chance "
                                      "accuracy and a permutation p-value per layer.")
    batch_size: int = param(32, help="Texts per forward pass.")
    where: dict[str, Any] | None = param(None, help="Keep rows whose column equals a value "
                                                    "(or one of a list), e.g. {language: en}.")
    limit: int | None = param(None, help="Use this many rows, drawn with the seed.")
    seed: int | None = param(None, help="Seed (default: the recipe's).")


def check(p: ProbeParams, _: CheckContext) -> None:
    """C is a positive number, a list of them, or auto (checked before any model loads)."""
    from biaskit.errors import ConfigError
    from biaskit.probes.checks import c_grid

    try:
        c_grid(list(p.C) if isinstance(p.C, tuple) else p.C)
    except ConfigError as err:
        raise ParamError("C", str(err)) from None


def run(ctx: StepContext, p: ProbeParams) -> dict[str, Any]:
    """Capture activations and fit probes; writes probe.json/.csv/.png and the directions."""
    from biaskit.activations import capture
    from biaskit.errors import DataError
    from biaskit.positions import parse_position
    from biaskit.probes.layers import probe_layers
    from biaskit.recipes.data import check_columns, load_rows

    rows = load_rows(p.data, preset=ctx.lab_preset, where=p.where, limit=p.limit, seed=ctx.seed)
    subject = auto_column(p.subject, rows, "subject")
    check_columns(rows, [p.text, p.label, subject], p.data)
    position = parse_position(p.positions) if p.positions != AUTO else (
        "subject_last" if subject else "last")
    if position == "all":
        raise DataError("probe needs one row per text: positions must not be `all`")
    if position == "subject_last" and subject is None:
        raise DataError("positions subject_last needs a subject column")
    control_by = subject if p.control_by == AUTO else p.control_by
    groups = subject if p.groups == AUTO else p.groups
    check_columns(rows, [control_by, groups], p.data)
    acts = capture(ctx.model, [str(r[p.text]) for r in rows], layers=p.layers, sites=p.sites,
                   positions=position, subject=[str(r[subject]) for r in rows] if subject else None,
                   records=rows, batch_size=p.batch_size, progress=ctx.progress)
    report = probe_layers(acts, p.label, cv=p.cv, control_by=control_by, groups=groups, C=p.C,
                          seed=ctx.seed, mdl=p.mdl, permutations=p.permutations, progress=ctx.progress)
    report.save(ctx.out)
    best = next(r for r in report.records
                if r["layer"] == report.best_layer and r["site"] == report.best_site)
    return {"best_layer": report.best_layer, "best_site": report.best_site,
            "accuracy": best["accuracy"], "selectivity": best.get("selectivity"),
            "baseline": best["baseline"], "n": len(rows), "classes": [str(c) for c in report.classes]}


def auto_column(value: str | None, rows: list[dict[str, Any]], default: str) -> str | None:
    """Resolve `auto` to `default` when the rows have that column, else None."""
    if value != AUTO:
        return value
    return default if rows and default in rows[0] else None


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    sel = out.get("selectivity")
    return (f"best layer {out['best_layer']}: accuracy {out['accuracy']:.2f}"
            + (f", selectivity {sel:.2f}" if sel is not None else ""))


STEP = StepType(
    kind="probe", params=ProbeParams, run=run, check=check, summary=summary,
    description="Linear probes at every layer: where can the feature be decoded (with a control task)?",
    outputs={"best_layer": int, "best_site": str, "accuracy": float, "selectivity": float | None,
             "baseline": float, "n": int, "classes": list[str]},
)
