"""`edit` step: change the weights that carry an association (ROME, MEMIT, AlphaEdit).

The edit stays applied for the rest of the recipe, so an `evaluate` step after it measures
the edited model. Its deltas are saved (`edit/deltas.safetensors` + `edit.json`), which is
also how `--resume` puts the edit back on a freshly loaded model.

With `keep: false` the edit is computed and saved, then the original weights are put
back exactly: later steps see the unedited model, and the saved folder is a model
variant (`evaluate` with `variants: [base, <this step>]`). That is how a recipe compares
methods side by side, each applied alone to the same base model, instead of measuring
one on top of another.
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
    file_param,
    param,
)

EDIT_DIR = "edit"


@dataclass(frozen=True)
class EditParams:
    """Parameters of the `edit` step (see docs/recipes.md)."""

    requests: str = data_param(help="Edit requests: lab:facts, lab:gender_professions, "
                                    "data/requests/..., or a JSON/JSONL/YAML file (EasyEdit and "
                                    "CounterFact formats are read too).")
    method: str = param("memit", help="rome (one layer), memit or alphaedit (several).")
    layers: tuple[int, ...] | int | None = param(None, help="Layers to edit, e.g. "
                                                            "\"${locate.layers}\"; null: the "
                                                            "method's default for the depth.")
    objective: Literal["rewrite", "equalize"] = param("rewrite", help="rewrite: make target_new the "
                                                                      "answer; equalize: make the "
                                                                      "group terms equally likely.")
    group: tuple[str, ...] | None = param(None, help="Group terms for equalize, e.g. [she, he]; "
                                                     "null: each request's own.")
    hparams: str | None = file_param(None, help="A biaskit or EasyEdit hparams file for the method.")
    config: dict[str, Any] | None = param(None, help="Method settings overriding the hparams, e.g. "
                                                     "{v_num_grad_steps: 10, mom2_n_samples: 2000}.")
    where: dict[str, Any] | None = param(None, help="Row filter on the requests' data, e.g. "
                                                    "{language: en, split: train}.")
    limit: int | None = param(None, help="Edit this many requests, drawn with the seed.")
    seed: int | None = param(None, help="Seed of the edit (default: the recipe's).")
    keep: bool = param(True, help="false: save the edit, then restore the weights exactly, so later "
                                  "steps see the unedited model and can take this step as a variant.")


def check(p: EditParams, _: CheckContext) -> None:
    """The method exists and `config` keys are valid for it (checked before any model loads)."""
    try:
        from biaskit.editors.config import config_class
    except ImportError:  # the editors are not installed in this tree yet
        return
    from biaskit.configs import ConfigFieldError, from_mapping
    from biaskit.errors import ConfigError

    try:
        cls = config_class(p.method)
    except ConfigError as exc:
        raise ParamError("method", f"key 'method': {exc}") from None
    if p.config:
        try:
            from_mapping(cls, dict(p.config), source="config")
        except ConfigFieldError as exc:
            raise ParamError(".".join(("config", *exc.path)),
                             exc.reason.replace("key '", "key 'config.")
                             .replace("did you mean '", "did you mean 'config.")) from None
    if p.objective == "equalize" and p.group is not None and len(p.group) < 2:
        raise ParamError("group", "key 'group': equalize needs at least two group terms")


def run(ctx: StepContext, p: EditParams) -> dict[str, Any]:
    """Load the requests, apply the edit and save its deltas; unless `keep` is false, it stays."""
    import math

    from biaskit.editors import apply
    from biaskit.editors.config import load_hparams
    from biaskit.editors.requests import load_requests
    from biaskit.errors import DataError
    from biaskit.recipes.data import load_rows, subsample

    source: Any = p.requests
    if p.where or p.limit is not None or (p.group and not _is_file_format(p.requests)):
        rows = load_rows(p.requests, preset=ctx.lab_preset, where=p.where, seed=ctx.seed)
        if p.group and rows and "targets" in rows[0]:
            # A fixed group such as [she, he] only makes sense on rows in that language:
            # rows whose own pair differs (ella/él, elle/il) are left out, as in `trace`.
            rows = [r for r in rows if [str(t) for t in r["targets"]] == list(p.group)]
            if not rows:
                raise DataError(f"{p.requests}: no row has targets {list(p.group)}")
        source = subsample(rows, p.limit, ctx.seed) if p.limit is not None else rows
    requests = load_requests(source, group=list(p.group) if p.group else None, preset=ctx.lab_preset)
    overrides: dict[str, Any] = dict(p.config or {})
    overrides["objective"] = p.objective
    overrides.setdefault("seed", ctx.seed)
    if p.layers is not None:
        overrides["layers"] = (p.layers,) if isinstance(p.layers, int) else tuple(p.layers)
    config = load_hparams(p.method, p.hparams, **overrides)
    result = apply(ctx.model, requests, method=p.method, config=config, progress=ctx.progress)
    try:
        result.save(ctx.out / EDIT_DIR)
        change = {}
        for name, delta in sorted(result.deltas.items()):
            weight = dict(ctx.model.hf.named_parameters())[name].detach().float()
            original = weight - delta.to(weight.device)
            change[name] = {"delta_norm": float(delta.norm()),
                            "relative": float(delta.norm()) / max(float(original.norm()), 1e-12)}
    finally:
        if not p.keep:
            restore_exactly(ctx.model, result, ctx.name)
    if p.keep:
        ctx.shared[f"edit:{ctx.name}"] = result
    total = math.sqrt(sum(c["delta_norm"] ** 2 for c in change.values()))
    return {"method": p.method, "objective": p.objective, "layers": list(result.layers),
            "n_requests": len(requests), "parameters": change, "delta_norm": total,
            "max_relative_change": max((c["relative"] for c in change.values()), default=0.0),
            "fingerprint_before": result.fingerprint_before,
            "fingerprint_after": result.fingerprint_after}


def _is_file_format(ref: str) -> bool:
    """YAML/JSON request files may hold EasyEdit batches: let `load_requests` read them whole."""
    return ref.endswith((".yaml", ".yml", ".json"))


def restore_exactly(model: Any, result: Any, step: str) -> None:
    """Take an edit (or erasure) off again: the original tensors are copied back bit for bit.

    Raises:
        ModelError: The weights do not come back to the fingerprint they had before the
            edit (something else changed them meanwhile); later steps would be wrong.
    """
    from biaskit.errors import ModelError

    result.restore()
    if model.fingerprint() != result.fingerprint_before:
        raise ModelError(f"step {step!r} (keep: false): the weights did not come back to their "
                         f"fingerprint before the change ({result.fingerprint_before})")


def replay(ctx: StepContext, p: EditParams, outputs: dict[str, Any]) -> None:
    """Put a completed edit back on a freshly loaded model (for `--resume`).

    An edit with `keep: false` left the weights as they were: there is nothing to replay.
    """
    from biaskit.editors.result import apply_saved

    if not p.keep:
        return
    ctx.shared[f"edit:{ctx.name}"] = apply_saved(ctx.model, ctx.step_dir(ctx.name) / EDIT_DIR)


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    return (f"{out['method']} ({out['objective']}) on layers {out['layers']}, {out['n_requests']} "
            f"requests; largest relative change {out['max_relative_change']:.2%}")


STEP = StepType(
    kind="edit", params=EditParams, run=run, check=check, summary=summary, mutates_model=True,
    replay=replay,
    description="Edit the weights (ROME, MEMIT, AlphaEdit) to rewrite a fact or equalize a bias.",
    outputs={"method": str, "objective": str, "layers": list[int], "n_requests": int,
             "parameters": dict[str, Any], "delta_norm": float, "max_relative_change": float,
             "fingerprint_before": str, "fingerprint_after": str},
)
