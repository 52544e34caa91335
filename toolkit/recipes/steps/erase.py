"""`erase` step: remove a concept from the MLP output of the located layers (LEACE, folded).

Fits a LEACE eraser (`biaskit.editors.erasure`) on labelled texts at each layer and folds
it into that layer's MLP output projection, so the erasure stays in the weights for the
rest of the recipe, like an `edit`. The deltas are saved (`erase/deltas.safetensors` +
`edit.json`, with `erasure.json` and the erasers beside them), which is also how
`--resume` puts the erasure back on a freshly loaded model.

With `keep: false` the original weights are put back exactly once the erasure is saved
and checked: later steps see the unerased model, and the saved folder (the layout of
any saved edit) is a model variant (`evaluate` with `variants: [base, <this step>]`).

When `heldout` > 0, that fraction of the rows (stratified by label) is kept out of the
fit, and a fresh probe is trained on them, at each erased layer, before and after: an
erasure that only holds on the rows it was fitted on shows up there.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, data_param, param

ERASE_DIR = "erase"
REPORT_FILE = "erase.json"


@dataclass(frozen=True)
class EraseParams:
    """Parameters of the `erase` step (see docs/recipes.md and docs/editors/erasure.md)."""

    data: str = data_param(help="Labelled texts: lab:gender_professions, lab:gender_sentences, "
                                "data/... or a file with a text and a label column.")
    label: str = param(help="Column of the attribute to erase (e.g. gender).")
    text: str = param("text", help="Column holding the text.")
    layers: tuple[int, ...] | int | str | None = param(None, help="Layers to erase at, e.g. "
                                                                  "\"${locate.layers}\", 2, or '2-3'; "
                                                                  "null: the latest locate step's.")
    positions: str | int = param("last", help="Tokens the eraser is fitted on: last, mean, all, "
                                              "first, subject_last, or an index (the folded "
                                              "weights act on every token).")
    subject: str | None = param(None, help="Column holding the subject, for positions subject_last.")
    shrinkage: float = param(0.0, help="Covariance ridge (fraction of its mean eigenvalue): 0 is "
                                       "exact LEACE; 0.01-0.1 keeps the fold tame on other text.")
    heldout: float = param(0.2, help="Fraction of rows kept out of the fit for a fresh probe before "
                                     "and after (0: no check).")
    cv: int = param(3, help="Folds of the held-out probe.")
    where: dict[str, Any] | None = param(None, help="Row filter, e.g. {gender: [female, male]}.")
    limit: int | None = param(None, help="Use this many rows, drawn with the seed.")
    batch_size: int = param(32, help="Texts per forward pass.")
    seed: int | None = param(None, help="Seed of the held-out split (default: the recipe's).")
    keep: bool = param(True, help="false: save the erasure, then restore the weights exactly, so "
                                  "later steps see the unerased model and can take this step as a "
                                  "variant.")


def check(p: EraseParams, ctx: CheckContext) -> None:
    """Layers are given or a locate step comes first; fractions and folds make sense."""
    if p.layers is None and "locate" not in ctx.earlier.values():
        raise ParamError("layers", "key 'layers': give the layers, or put a locate step before")
    if not 0.0 <= p.heldout < 1.0:
        raise ParamError("heldout", "key 'heldout': a fraction in [0, 1)")
    if p.shrinkage < 0:
        raise ParamError("shrinkage", "key 'shrinkage': must be >= 0")
    if p.cv < 2:
        raise ParamError("cv", "key 'cv': at least 2 folds")
    if p.positions == "subject_last" and p.subject is None:
        raise ParamError("subject", "key 'subject': positions subject_last needs a subject column")


def run(ctx: StepContext, p: EraseParams) -> dict[str, Any]:
    """Fit, fold and check the erasure; unless `keep` is false, it stays for the following steps.

    The outputs' held-out figures are those of the layer where the fresh probe does best
    after the erasure (the worst case); erase.json/erase.csv give every layer.
    """
    from biaskit.editors.erasure import erase
    from biaskit.io import write_csv, write_json
    from biaskit.recipes.data import check_columns, load_rows
    from biaskit.recipes.steps.edit import restore_exactly

    rows = load_rows(p.data, preset=ctx.lab_preset, where=p.where, limit=p.limit, seed=ctx.seed)
    check_columns(rows, [p.text, p.label, p.subject], p.data)
    layers = _layers(ctx, p)
    fit, held = split_heldout(rows, p.label, p.heldout, ctx.seed)
    probe_before = _probe(ctx, p, held, layers) if held else {}
    result = erase(ctx.model, [str(r[p.text]) for r in fit], [str(r[p.label]) for r in fit],
                   layers=layers, positions=p.positions,
                   subject=[str(r[p.subject]) for r in fit] if p.subject else None, label=p.label,
                   shrinkage=p.shrinkage, batch_size=p.batch_size, progress=ctx.progress)
    try:
        result.save(ctx.out / ERASE_DIR)
        probe_after = _probe(ctx, p, held, result.layers) if held else {}
    finally:
        if not p.keep:
            restore_exactly(ctx.model, result, ctx.name)
    if p.keep:
        ctx.shared[f"erase:{ctx.name}"] = result
    rows_out = []
    for check_row in result.checks:
        layer = check_row["layer"]
        rows_out.append({**check_row, "heldout_n": len(held),
                         "heldout_accuracy_before": probe_before.get(layer, {}).get("accuracy"),
                         "heldout_accuracy_after": probe_after.get(layer, {}).get("accuracy"),
                         "heldout_baseline": probe_before.get(layer, {}).get("baseline")})
    write_json(ctx.out / REPORT_FILE, {"label": p.label, "layers": list(result.layers),
                                       "classes": list(result.config.classes), "rows": rows_out})
    write_csv(ctx.out / "erase.csv", rows_out)
    worst = max(probe_after, key=lambda k: probe_after[k]["accuracy"]) if probe_after else None
    after = probe_after.get(worst, {}) if worst is not None else {}
    before = probe_before.get(worst, {}) if worst is not None else {}
    gaps = [r["relative_gap"] for r in result.checks if r["relative_gap"] is not None]
    return {"layers": list(result.layers), "label": p.label,
            "classes": list(result.config.classes), "ranks": [r["rank"] for r in result.checks],
            "n_fit": len(fit), "n_heldout": len(held),
            "relative_gap": max(gaps) if gaps else None,
            "heldout_accuracy_before": before.get("accuracy"),
            "heldout_accuracy_after": after.get("accuracy"),
            "heldout_baseline": after.get("baseline"),
            "fingerprint_before": result.fingerprint_before,
            "fingerprint_after": result.fingerprint_after}


def split_heldout(rows: list[dict[str, Any]], label: str, fraction: float,
                  seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(fit rows, held-out rows): `fraction` of each class held out, drawn with `seed`."""
    if fraction <= 0:
        return list(rows), []
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_class[str(r[label])].append(i)
    rng = random.Random(seed)
    held: set[int] = set()
    for ids in by_class.values():
        held.update(rng.sample(ids, int(round(fraction * len(ids)))))
    return ([r for i, r in enumerate(rows) if i not in held],
            [r for i, r in enumerate(rows) if i in held])


def _layers(ctx: StepContext, p: EraseParams) -> list[int]:
    if p.layers is not None:
        return ctx.model.resolve_layers(p.layers if not isinstance(p.layers, tuple) else list(p.layers))
    from biaskit.errors import ConfigError

    located = ctx.earlier("locate")
    if not located:
        raise ConfigError("erase: no layers given and no locate step before")
    return ctx.model.resolve_layers(list(ctx.outputs(located[-1])["layers"]))


def _probe(ctx: StepContext, p: EraseParams, rows: list[dict[str, Any]],
           layers: list[int] | tuple[int, ...]) -> dict[int, dict[str, Any]]:
    """A fresh cross-validated probe of the label at `mlp_out` of each layer."""
    from biaskit.activations import capture
    from biaskit.errors import DataError
    from biaskit.probes.layers import probe_layers

    acts = capture(ctx.model, [str(r[p.text]) for r in rows], layers=list(layers),
                   sites=("mlp_out",), positions="mean" if p.positions == "all" else p.positions,
                   subject=[str(r[p.subject]) for r in rows] if p.subject else None,
                   records=[{"label": str(r[p.label])} for r in rows], batch_size=p.batch_size,
                   dtype="float32", progress=False)
    try:
        report = probe_layers(acts, "label", cv=p.cv, control=False, seed=ctx.seed, progress=False)
    except DataError as exc:
        raise DataError(f"erase: the held-out check cannot run ({exc}); raise `heldout`, or set "
                        "it to 0") from None
    return {int(r["layer"]): r for r in report.records}


def replay(ctx: StepContext, p: EraseParams, outputs: dict[str, Any]) -> None:
    """Put a completed erasure back on a freshly loaded model (for `--resume`).

    An erasure with `keep: false` left the weights as they were: nothing to replay.
    """
    from biaskit.editors.result import apply_saved

    if not p.keep:
        return
    ctx.shared[f"erase:{ctx.name}"] = apply_saved(ctx.model, ctx.step_dir(ctx.name) / ERASE_DIR)


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    line = f"{out['label']} erased at layers {out['layers']} (ranks {out['ranks']})"
    if out.get("heldout_accuracy_after") is not None:
        line += (f"; held-out probe {out['heldout_accuracy_before']:.2f} -> "
                 f"{out['heldout_accuracy_after']:.2f} (baseline {out['heldout_baseline']:.2f})")
    return line


STEP = StepType(
    kind="erase", params=EraseParams, run=run, check=check, summary=summary, mutates_model=True,
    replay=replay,
    description="Erase a concept (LEACE) from the MLP output of the located layers, in the weights.",
    outputs={"layers": list[int], "label": str, "classes": list[str], "ranks": list[int],
             "n_fit": int, "n_heldout": int, "relative_gap": float | None,
             "heldout_accuracy_before": float | None, "heldout_accuracy_after": float | None,
             "heldout_baseline": float | None, "fingerprint_before": str,
             "fingerprint_after": str},
)
