"""Running a validated recipe: a run folder, one folder per step, a manifest, and resume.

Layout of a run (`runs/<name>-<timestamp>/`, or `--out`):

    recipe.yaml      the recipe as run (includes merged, overrides applied, paths resolved)
    manifest.json    versions, model id and weight fingerprint, seed, device, times, and
                     for each step its status, duration and input hash
    <step>/          one folder per step: its files, params.json and outputs.json

A step writes into a temporary folder that is renamed into place only when it succeeds,
so a crash (even kill -9) never leaves a half-written step folder. Each step's input
hash covers its resolved parameters, the model and its weight fingerprint, the seed, and
the hashes and outputs of every earlier step; `--resume` skips a completed step whose
hash is unchanged and redoes the rest. Steps that change the weights (edits) are replayed
from their saved deltas when skipped, so later steps see the same model either way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from biaskit.configs import ConfigFieldError, from_mapping, to_mapping
from biaskit.errors import ConfigError
from biaskit.io import read_json, write_json
from biaskit.recipes.data import lab_preset_for
from biaskit.recipes.refs import substitute
from biaskit.recipes.step import StepContext
from biaskit.recipes.validate import Plan, PlannedStep

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RESOLVED = "recipe.yaml"
OUTPUTS = "outputs.json"
PARAMS = "params.json"
VERSIONED = ("torch", "transformers", "tokenizers", "safetensors", "nnsight", "peft",
             "scikit-learn", "numpy", "datasets")


@dataclass(frozen=True)
class RunResult:
    """What a run produced: its folder, manifest, and every step's outputs."""

    run_dir: Path
    manifest: dict[str, Any]
    outputs: dict[str, dict[str, Any]]


def run_plan(plan: Plan, *, out: str | Path | None = None, resume: bool = False,
             progress: bool = True, command: str | None = None,
             on_event: Callable[[str, dict[str, Any]], None] | None = None) -> RunResult:
    """Run every step of `plan` in order; see the module docstring for the layout.

    Args:
        plan: A validated recipe (`validate`).
        out: Run folder; default `runs/<name>-<timestamp>`.
        resume: Continue the run in `out` (default: the latest run of this recipe),
            skipping completed steps whose inputs have not changed.
        progress: Show progress bars inside steps.
        command: The command line that started the run (recorded for the report).
        on_event: Called with ("load" | "folder" | "start" | "done" | "skip" | "fail",
            record) so the CLI can print a line per step.

    Raises:
        ConfigError: Nothing to resume, or `out` already holds another run.
        Exception: Whatever a step raised; the manifest records the failure first.
    """
    run_dir = _run_dir(plan, out, resume)
    old = _old_steps(run_dir) if resume else {}
    emit = on_event or (lambda _kind, _rec: None)
    manifest = _new_manifest(plan, command)
    state = _RunState(plan, command)
    if plan.needs_model:  # before the run folder exists: a model that fails to load leaves nothing
        emit("load", {"model": plan.model.id})
        state.load_model()
        manifest["model"].update(state.model_info)
        manifest["device"] = state.model_info["device"]
    run_dir.mkdir(parents=True, exist_ok=True)
    emit("folder", {"path": str(run_dir)})
    for leftover in run_dir.glob(".*.tmp-*"):  # a step killed while writing
        shutil.rmtree(leftover, ignore_errors=True)
    write_resolved(plan, run_dir / RESOLVED)
    _save_manifest(run_dir, manifest)
    previous: list[Any] = []
    try:
        for step in plan.steps:
            record = {"name": step.name, "kind": step.kind, "status": "pending"}
            manifest["steps"].append(record)
            params = _resolve_params(step, state.outputs)
            typed = _typed(step, params)
            seed = getattr(typed, "seed", None)
            seed = plan.seed if seed is None else seed
            flat = to_mapping(typed)
            digest = _hash({"kind": step.kind, "params": flat, "seed": seed, "previous": previous,
                            "model": manifest["model"] if step.type.needs_model else None})
            record.update(input_hash=digest)
            ctx = state.context(step, run_dir, seed, progress)
            done = old.get(step.name)
            if (done and done.get("status") in ("done", "skipped") and done.get("input_hash") == digest
                    and (run_dir / step.name / OUTPUTS).exists()):
                outputs = read_json(run_dir / step.name / OUTPUTS)
                if step.type.replay is not None:
                    step.type.replay(ctx, typed, outputs)
                record.update(status="skipped", duration_s=done.get("duration_s"),
                              started=done.get("started"), ended=done.get("ended"))
                emit("skip", record | {"outputs": outputs, "summary": _summary(step, outputs)})
            else:
                emit("start", dict(record))
                outputs = _execute(step, typed, ctx, flat, seed, record, run_dir, manifest, emit)
            state.add(step, flat, outputs)
            previous.append([digest, _hash(outputs)])
            _save_manifest(run_dir, manifest)
        manifest["status"] = "done"
    except BaseException:
        manifest["status"] = "failed"
        raise
    finally:
        manifest["ended"] = _now()
        _save_manifest(run_dir, manifest)
    return RunResult(run_dir=run_dir, manifest=manifest, outputs=state.outputs_only())


def _execute(step: PlannedStep, typed: Any, ctx: StepContext, flat: dict[str, Any], seed: int,
             record: dict[str, Any], run_dir: Path, manifest: dict[str, Any],
             emit: Callable[[str, dict[str, Any]], None]) -> dict[str, Any]:
    """Run one step into a temporary folder and rename it into place."""
    final = run_dir / step.name
    tmp = Path(tempfile.mkdtemp(prefix=f".{step.name}.tmp-", dir=run_dir))
    ctx.out = tmp
    record.update(status="running", started=_now())
    _save_manifest(run_dir, manifest)
    start = time.perf_counter()
    try:
        _seed_everything(seed)
        outputs = dict(step.type.run(ctx, typed))
        missing = set(step.type.outputs) - set(outputs)
        extra = set(outputs) - set(step.type.outputs)
        if missing or extra:
            raise RuntimeError(f"step {step.kind!r} returned outputs {sorted(outputs)}, "
                               f"declared {sorted(step.type.outputs)}")
        outputs = json.loads(json.dumps(outputs, default=_jsonable))
        write_json(tmp / PARAMS, flat | {"seed": seed})
        write_json(tmp / OUTPUTS, outputs)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        record.update(status="failed", ended=_now(), duration_s=round(time.perf_counter() - start, 3),
                      error=f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
        emit("fail", dict(record))
        raise
    record.update(status="done", ended=_now(), duration_s=round(time.perf_counter() - start, 3))
    emit("done", record | {"outputs": outputs, "summary": _summary(step, outputs)})
    return outputs


class _RunState:
    """The model (loaded once) and the outputs of the steps run so far."""

    def __init__(self, plan: Plan, command: str | None) -> None:
        self.plan, self.command = plan, command
        self.model: Any = None
        self.model_info: dict[str, Any] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.shared: dict[str, Any] = {}

    def load_model(self) -> Any:
        if self.model is None:
            from biaskit.models import load_model

            spec = self.plan.model
            logger.info("loading model %s", spec.id)
            adapter = None
            if spec.adapter:  # relative to the recipe, like every other path in it
                adapter = Path(spec.adapter).expanduser()
                adapter = adapter if adapter.is_absolute() else self.plan.path.parent / adapter
            self.model = load_model(spec.id, dtype=spec.dtype, device=spec.device,
                                    device_map=spec.device_map, load_in_4bit=spec.load_in_4bit,
                                    trust_remote_code=spec.trust_remote_code, revision=spec.revision,
                                    adapter=adapter)
            self.model_info = {"name": self.model.name,
                               "adapter": str(adapter.resolve()) if adapter else None,
                               "fingerprint": self.model.fingerprint(), "device": str(self.model.device),
                               "dtype": str(self.model.dtype).replace("torch.", ""),
                               "model_type": self.model.model_type, "n_layers": self.model.n_layers,
                               "n_params": self.model.n_params}
        return self.model

    def context(self, step: PlannedStep, run_dir: Path, seed: int, progress: bool) -> StepContext:
        recipe = {"name": self.plan.name, "description": self.plan.description,
                  "path": str(self.plan.path), "model": to_mapping(self.plan.model),
                  "seed": self.plan.seed, "overrides": list(self.plan.overrides),
                  "model_info": self.model_info, "command": self.command}
        return StepContext(name=step.name, out=run_dir / step.name, run_dir=run_dir, seed=seed,
                           lab_preset=lab_preset_for(self.plan.model.id), recipe=recipe,
                           progress=progress, _model_loader=self.load_model, _steps=self.outputs,
                           _shared=self.shared)

    def add(self, step: PlannedStep, params: dict[str, Any], outputs: dict[str, Any]) -> None:
        self.outputs[step.name] = {"kind": step.kind, "params": params, "outputs": outputs}

    def outputs_only(self) -> dict[str, dict[str, Any]]:
        return {name: s["outputs"] for name, s in self.outputs.items()}


def _resolve_params(step: PlannedStep, done: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def lookup(name: str, field: str) -> Any:
        return done[name]["outputs"][field]

    return substitute(step.params, lookup) if step.refs else dict(step.params)


def _typed(step: PlannedStep, params: dict[str, Any]) -> Any:
    try:
        return from_mapping(step.type.params, params, source=step.name)
    except ConfigFieldError as exc:  # a reference resolved to a value of the wrong type
        raise ConfigError(f"{step.where}: step {step.name!r}: {exc.reason}") from None


def _run_dir(plan: Plan, out: str | Path | None, resume: bool) -> Path:
    if out is not None:
        path = Path(out)
        if not resume and (path / MANIFEST).exists():
            raise ConfigError(f"{path} already holds a run; use --resume to continue it, or "
                              "another --out")
        if resume and not (path / MANIFEST).exists():
            raise ConfigError(f"--resume: {path} holds no run to resume (no {MANIFEST})")
        return path
    root = Path("runs")
    if resume:
        runs = sorted(p for p in root.glob(f"{plan.name}-*") if (p / MANIFEST).exists())
        if not runs:
            raise ConfigError(f"--resume: no earlier run of {plan.name!r} under {root}/; "
                              "give its folder with --out")
        return runs[-1]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = root / f"{plan.name}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{plan.name}-{stamp}-{n}"
    return path


def _old_steps(run_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        manifest = read_json(run_dir / MANIFEST)
    except (OSError, json.JSONDecodeError):
        return {}
    return {s["name"]: s for s in manifest.get("steps", [])}


def _new_manifest(plan: Plan, command: str | None) -> dict[str, Any]:
    import biaskit

    return {
        "biaskit": biaskit.__version__, "python": platform.python_version(),
        "platform": platform.platform(), "versions": _versions(),
        "recipe": {"name": plan.name, "description": plan.description, "path": str(plan.path),
                   "overrides": list(plan.overrides)},
        "command": command, "model": {"spec": to_mapping(plan.model)}, "seed": plan.seed,
        "device": None, "started": _now(), "ended": None, "status": "running", "steps": [],
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def write_resolved(plan: Plan, path: Path) -> None:
    """Write the recipe as it runs: one file, no includes, overrides applied, paths resolved."""
    import yaml

    from biaskit.io import atomic_write

    body = {"name": plan.name, "description": plan.description, "model": to_mapping(plan.model),
            "seed": plan.seed,
            "steps": [{s.kind: ({"name": s.name} if s.name != s.kind else {}) | _plain(s.params)}
                      for s in plan.steps]}
    head = f"# Resolved from {plan.path}" + (
        f" with --set {' --set '.join(plan.overrides)}" if plan.overrides else "") + "\n"
    atomic_write(path, lambda fh: fh.write(head + yaml.safe_dump(body, sort_keys=False,
                                                                 allow_unicode=True)))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _summary(step: PlannedStep, outputs: dict[str, Any]) -> str:
    if step.type.summary is None:
        return ""
    try:
        return step.type.summary(outputs)
    except (KeyError, TypeError, ValueError):
        return ""


def _seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (when loaded) so a step gives the same result each run."""
    import random
    import sys

    random.seed(seed)
    if "numpy" in sys.modules:
        import numpy as np

        np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)


def _hash(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, default=_jsonable, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _save_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    write_json(run_dir / MANIFEST, manifest)


def run_recipe(recipe: str | Path, overrides: Sequence[str] = (), **kwargs: Any) -> RunResult:
    """Validate and run a recipe file (the Python API behind `biaskit run`)."""
    from biaskit.recipes.validate import validate

    return run_plan(validate(recipe, overrides), **kwargs)
