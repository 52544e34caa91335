"""`steer` step: add a direction to one layer's output for the rest of the run.

Steering is a runtime intervention (a forward hook, `biaskit.editors.steer`): no weight
changes. The runner has no nested or scoped steps, so the hook stays on for every later
step of the run, exactly as an `edit` or `erase` stays applied: put `evaluate` steps
after it to measure the steered model (and one before it for the unsteered one). On
`--resume` the hook is put back from the saved direction (`steer/direction.safetensors`
and `steer/steer.json`), so later steps see the same model either way.

The direction comes from an earlier `probe` step (its difference of class means or its
weights, at the probe's best layer by default), or from labelled texts (`data` + `label`:
the difference of the class means at `layer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from biaskit.recipes.step import (
    CheckContext,
    ParamError,
    StepContext,
    StepType,
    data_param,
    param,
    step_param,
)

STEER_DIR = "steer"
DIRECTION_FILE = "direction.safetensors"
SETTINGS_FILE = "steer.json"


@dataclass(frozen=True)
class SteerParams:
    """Parameters of the `steer` step (see docs/recipes.md and docs/editors/erasure.md)."""

    toward: str = param(help="Class the direction points to, e.g. female (with [female, male] "
                             "a positive strength pushes towards female).")
    strength: float = param(help="Length of the added vector, in activation units (the output "
                                 "`direction_norm` of a data direction is a natural scale).")
    probe: str | None = step_param(("probe",), None, help="A probe step whose stored direction "
                                                           "is used (default source when no data).")
    data: str | None = data_param(None, help="Labelled texts for a difference of class means "
                                             "instead of a probe step.")
    label: str | None = param(None, help="Label column of `data`.")
    text: str = param("text", help="Text column of `data`.")
    layer: int | None = param(None, help="Layer; default: the probe's best layer (needed with data).")
    site: str = param("resid", help="Site shifted: resid, attn_out, mlp_out.")
    kind: Literal["mean_diff", "probe"] = param("mean_diff", help="With a probe step: its difference "
                                                                  "of class means or its weights.")
    positions: str | int = param("all", help="Tokens shifted: all, last, or an index.")
    read_positions: str | int = param("last", help="Tokens the class means of `data` are read at.")
    where: dict[str, Any] | None = param(None, help="Row filter on `data`, e.g. {gender: [female, male]}.")
    limit: int | None = param(None, help="Use this many rows of `data`, drawn with the seed.")
    batch_size: int = param(32, help="Texts per forward pass.")
    seed: int | None = param(None, help="Seed of the subsample (default: the recipe's).")


def check(p: SteerParams, ctx: CheckContext) -> None:
    """One direction source; data needs a label and a layer; a probe step must exist."""
    if p.data is not None and p.probe is not None:
        raise ParamError("data", "key 'data': give either data (with label) or probe, not both")
    if p.data is not None:
        if p.label is None:
            raise ParamError("label", "key 'label': data needs its label column")
        if p.layer is None:
            raise ParamError("layer", "key 'layer': a direction from data needs a layer")
    elif p.probe is None and "probe" not in ctx.earlier.values():
        raise ParamError(None, "steer needs a direction: data + label, or an earlier probe step")
    if p.site not in ("resid", "attn_out", "mlp_out"):
        raise ParamError("site", f"key 'site': {p.site!r} is not resid, attn_out or mlp_out")
    if not (isinstance(p.positions, int) or p.positions in ("all", "last")):
        raise ParamError("positions", "key 'positions': all, last, or a token index")


def run(ctx: StepContext, p: SteerParams) -> dict[str, Any]:
    """Compute the direction, save it, and switch the hook on for the following steps."""
    from biaskit.editors.steer import direction_from_probe, mean_difference, unit
    from biaskit.probes.report import ProbeReport
    from biaskit.recipes.data import check_columns, load_rows

    norm = None
    if p.data is not None:
        rows = load_rows(p.data, preset=ctx.lab_preset, where=p.where, limit=p.limit, seed=ctx.seed)
        check_columns(rows, [p.text, p.label], p.data)
        layer = ctx.model.layer_index(int(p.layer))
        raw = mean_difference(ctx.model, [str(r[p.text]) for r in rows],
                              [str(r[p.label]) for r in rows], layer, site=p.site,
                              positions=p.read_positions, positive=p.toward,
                              batch_size=p.batch_size, progress=ctx.progress)
        direction, norm, source = unit(raw), float(raw.norm()), f"data:{p.data}"
    else:
        step = p.probe or ctx.earlier("probe")[-1]
        report = ProbeReport.load(ctx.step_dir(step))
        layer = report.best_layer if p.layer is None else ctx.model.layer_index(int(p.layer))
        direction = direction_from_probe(report, layer=layer, site=p.site, kind=p.kind,
                                         toward=p.toward)
        source = f"probe:{step}:{p.kind}"
    settings = {"layer": int(layer), "site": p.site, "strength": float(p.strength),
                "positions": p.positions, "toward": p.toward, "source": source}
    _save(ctx.out / STEER_DIR, direction, settings)
    _switch_on(ctx, direction, settings)
    return {**settings, "direction_norm": norm, "width": int(direction.shape[0]),
            "cosine_with_probe": None if p.data is None else _cosine_with_probe(ctx, p, layer,
                                                                                direction)}


def _cosine_with_probe(ctx: StepContext, p: SteerParams, layer: int,
                       direction: Any) -> float | None:
    """Cosine between the data direction and the latest probe's mean difference, if any."""
    import torch

    from biaskit.errors import BiaskitError
    from biaskit.probes.report import ProbeReport

    probes = ctx.earlier("probe")
    if not probes:
        return None
    try:
        from biaskit.editors.steer import direction_from_probe

        other = direction_from_probe(ProbeReport.load(ctx.step_dir(probes[-1])), layer=layer,
                                     site=p.site, kind="mean_diff", toward=p.toward)
    except BiaskitError:
        return None
    return float(torch.dot(direction, other))


def _save(folder: Any, direction: Any, settings: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    from biaskit.io import atomic_path, write_json

    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / DIRECTION_FILE) as tmp:
        save_file({"direction": direction.contiguous()}, str(tmp))
    write_json(folder / SETTINGS_FILE, settings)


def _switch_on(ctx: StepContext, direction: Any, settings: dict[str, Any]) -> None:
    """Enter the `steer` context and keep it open: the hook lives until the run ends.

    The context manager is kept in `ctx.shared` under `steer:<step>`; calling its
    `__exit__(None, None, None)` switches the steering off again.
    """
    from biaskit.editors.steer import steer

    manager = steer(ctx.model, direction, settings["layer"], settings["strength"],
                    site=settings["site"], positions=settings["positions"])
    manager.__enter__()
    ctx.shared[f"steer:{ctx.name}"] = manager


def replay(ctx: StepContext, _: SteerParams, outputs: dict[str, Any]) -> None:
    """Switch a completed step's steering back on (for `--resume`)."""
    from safetensors.torch import load_file

    from biaskit.io import read_json

    folder = ctx.step_dir(ctx.name) / STEER_DIR
    direction = load_file(str(folder / DIRECTION_FILE))["direction"]
    _switch_on(ctx, direction, read_json(folder / SETTINGS_FILE))


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    return (f"steering {out['site']} at layer {out['layer']} towards {out['toward']} with "
            f"strength {out['strength']:g} ({out['source']})")


STEP = StepType(
    kind="steer", params=SteerParams, run=run, check=check, summary=summary, mutates_model=True,
    replay=replay,
    description="Add a probe or mean-difference direction to a layer for the rest of the run.",
    outputs={"layer": int, "site": str, "strength": float, "positions": str | int, "toward": str,
             "source": str, "direction_norm": float | None, "width": int,
             "cosine_with_probe": float | None},
)
