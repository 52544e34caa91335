"""Recipe validation: everything that can be checked before a model loads, with file:line.

`validate(path, overrides)` reads the recipe (includes merged, `--set` applied), checks the
top-level keys, every step's kind, parameter names and types, references to earlier
steps and their outputs, data references and files, and returns a `Plan` the runner
executes. Every problem is one `ConfigError` line: `recipes/x.yaml:12: step 'edit':
unknown key 'layer' (did you mean 'layers'?)`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from biaskit.configs import ConfigFieldError, field_key, from_mapping, suggest, type_name
from biaskit.errors import BiaskitError, ConfigError
from biaskit.recipes.data import resolve_data_ref
from biaskit.recipes.refs import Ref, RefError, find_refs, sample
from biaskit.recipes.source import (
    MDict,
    apply_overrides,
    display_path,
    find_where,
    load_with_includes,
    step_name,
)
from biaskit.recipes.step import COMMON_KEYS, CheckContext, ParamError, StepType

STEP_NAME = re.compile(r"^[A-Za-z_][\w-]*$")
DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class ModelSpec:
    """The `model:` section (`model: lab` is short for `model: {id: lab}`)."""

    id: str = "lab"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    device: str = "auto"
    device_map: str | None = None
    load_in_4bit: bool = False
    trust_remote_code: bool = False
    revision: str | None = None
    adapter: str | None = None

    def __post_init__(self) -> None:
        if not DEVICE.match(self.device):
            raise ValueError(f"key 'model.device': expected auto, cpu, mps, cuda or cuda:N, "
                             f"got {self.device!r}")


@dataclass(frozen=True)
class Header:
    """The top level of a recipe (besides `include:`, which is merged away first)."""

    steps: list[Any]
    name: str | None = None
    description: str = ""
    model: ModelSpec = field(default_factory=ModelSpec)
    seed: int = 0


@dataclass(frozen=True)
class PlannedStep:
    """A validated step: its type, name, and raw parameters (references still unresolved)."""

    index: int
    name: str
    kind: str
    type: StepType
    params: dict[str, Any]
    where: str
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class Plan:
    """A validated recipe, ready to run."""

    path: Path
    name: str
    description: str
    model: ModelSpec
    seed: int
    steps: tuple[PlannedStep, ...]
    overrides: tuple[str, ...]

    @property
    def needs_model(self) -> bool:
        """Whether any step uses the model."""
        return any(s.type.needs_model for s in self.steps)

    def step(self, name: str) -> PlannedStep:
        """The planned step called `name`."""
        return next(s for s in self.steps if s.name == name)


def validate(recipe: str | Path, overrides: Sequence[str] = ()) -> Plan:
    """Check a recipe completely without loading a model; return the plan to run.

    Raises:
        ConfigError: The first problem, as one line `file:line: ...`.
    """
    from biaskit.recipes.steps import STEPS

    path = Path(recipe)
    data = load_with_includes(path)
    data = apply_overrides(data, list(overrides))
    if isinstance(data.get("model"), str):
        spec = MDict({"id": data["model"]}, where=data.where("model"))
        spec.key_where["id"] = data.where("model")
        data.set("model", spec, data.where("model"))
    try:
        header = from_mapping(Header, data, source=display_path(path))
    except ConfigFieldError as exc:
        raise ConfigError(f"{find_where(data, exc.path, data.where())}: {exc.reason}") from None
    raw_steps = data["steps"]
    if not raw_steps:
        raise ConfigError(f"{data.where('steps')}: the recipe has no steps")
    planned: list[PlannedStep] = []
    all_names = [step_name(e) for e in raw_steps]
    for index, entry in enumerate(raw_steps):
        where = raw_steps.where(index) if hasattr(raw_steps, "where") else data.where("steps")
        planned.append(_plan_step(index, entry, where, planned, header, STEPS, all_names))
    name = header.name or path.stem
    if not STEP_NAME.match(name):
        raise ConfigError(f"{data.where('name')}: name {name!r}: use letters, digits, - and _ "
                          "(it names the run folder)")
    return Plan(path=path, name=name, description=header.description, model=header.model,
                seed=header.seed, steps=tuple(planned), overrides=tuple(overrides))


def _plan_step(index: int, entry: Any, where: str, planned: list[PlannedStep], header: Header,
               registry: Any, all_names: Sequence[str | None]) -> PlannedStep:
    if isinstance(entry, str):
        entry = MDict({entry: None}, where=where)
        entry.key_where[next(iter(entry))] = where
    if not isinstance(entry, Mapping) or len(entry) != 1:
        if isinstance(entry, Mapping):
            keys = ", ".join(map(str, entry))
            if isinstance(entry, MDict) and len(entry) > 1:
                where = entry.where(list(entry)[1])  # the key that should have been indented
            hint = " (indent the parameters under the step, e.g. `- probe:` then `    data: ...`)"
            raise ConfigError(f"{where}: step {index + 1}: expected one step name with its parameters, "
                              f"got {len(entry)} keys ({keys}){hint}")
        raise ConfigError(f"{where}: step {index + 1}: expected `kind: {{parameters}}`, "
                          f"got {type(entry).__name__}")
    kind, params = next(iter(entry.items()))
    kwhere = entry.where(kind) if isinstance(entry, MDict) else where
    if kind not in registry:
        raise ConfigError(f"{kwhere}: unknown step {kind!r}{suggest(str(kind), registry.names())}; "
                          f"steps are: {', '.join(registry.names())}")
    stype: StepType = registry.get(kind)
    if params is None:
        params = MDict(where=kwhere)
    if not isinstance(params, Mapping):
        raise ConfigError(f"{kwhere}: step {kind!r}: expected a mapping of parameters, "
                          f"got {type(params).__name__} {params!r}")
    name = params.get("name", kind)
    pwhere = params.where("name") if isinstance(params, MDict) and "name" in params else kwhere
    if not isinstance(name, str) or not STEP_NAME.match(name):
        raise ConfigError(f"{pwhere}: step {kind!r}: name {name!r}: use letters, digits, - and _")
    if any(p.name == name for p in planned):
        raise ConfigError(f"{pwhere}: step name {name!r} is used twice; give each "
                          f"{kind} step its own `name:`")
    body = {k: v for k, v in params.items() if k not in COMMON_KEYS}
    located = _Located(params if isinstance(params, MDict) else MDict(where=kwhere), kwhere, name,
                       all_names)
    try:
        refs = find_refs(body)
    except RefError as exc:
        raise located.error(exc.path, exc.reason) from None
    earlier = {p.name: p for p in planned}
    sampled = _check_refs(refs, earlier, body, located)
    try:
        typed = from_mapping(stype.params, sampled, source=name)
    except ConfigFieldError as exc:
        raise located.error(exc.path, _ref_reason(exc, refs, earlier)) from None
    resolved = _check_fields(stype, typed, body, located, earlier, header)
    if stype.check is not None:
        try:
            stype.check(typed, CheckContext(earlier={n: p.kind for n, p in earlier.items()},
                                            model_id=header.model.id))
        except ParamError as exc:
            raise located.error(tuple(exc.key.split(".")) if exc.key else (), exc.reason) from None
    return PlannedStep(index=index, name=name, kind=kind, type=stype, params=resolved,
                       where=kwhere, refs=tuple(refs))


class _Located:
    """Formats errors for one step at the line of the offending key."""

    def __init__(self, params: MDict, where: str, name: str, all_names: Sequence[str | None]) -> None:
        self.params, self.where, self.name, self.all_names = params, where, name, all_names

    def error(self, path: Sequence[str], reason: str) -> ConfigError:
        return ConfigError(f"{find_where(self.params, list(path), self.where)}: step {self.name!r}: {reason}")


def _check_refs(refs: list[Ref], earlier: Mapping[str, PlannedStep], body: dict[str, Any],
                located: _Located) -> dict[str, Any]:
    """Check each reference names an earlier step's declared output; put in sample values."""
    for ref in refs:
        if ref.step not in earlier:
            if ref.step in located.all_names:
                raise located.error(ref.path, f"{ref.text}: step {ref.step!r} runs later; a step can "
                                              "only use outputs of the steps before it")
            hint = suggest(ref.step, list(earlier))
            known = ", ".join(earlier) or "none (this is the first step)"
            raise located.error(ref.path, f"{ref.text}: no earlier step named {ref.step!r}{hint}; "
                                          f"earlier steps: {known}")
        outputs = earlier[ref.step].type.outputs
        if ref.field not in outputs:
            raise located.error(ref.path, f"{ref.text}: step {ref.step!r} has no output {ref.field!r}"
                                          f"{suggest(ref.field, list(outputs))}; its outputs: "
                                          f"{', '.join(outputs)}")

    def fill(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, str):
            mine = [r for r in refs if r.path == path]
            if mine and mine[0].whole:
                return sample(earlier[mine[0].step].type.outputs[mine[0].field])
            return value
        if isinstance(value, Mapping):
            return {k: fill(v, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, (*path, str(i))) for i, v in enumerate(value)]
        return value

    return fill(body, ())


def _ref_reason(exc: ConfigFieldError, refs: list[Ref], earlier: Mapping[str, PlannedStep]) -> str:
    for ref in refs:
        if ref.whole and tuple(exc.path[:len(ref.path)]) == ref.path:
            given = type_name(earlier[ref.step].type.outputs[ref.field])
            expected = exc.reason.split("expected ", 1)[-1].split(", got")[0]
            return f"key {'.'.join(ref.path)!r}: {ref.text} is {given}, expected {expected}"
    return exc.reason


def _check_fields(stype: StepType, typed: Any, body: dict[str, Any], located: _Located,
                  earlier: Mapping[str, PlannedStep], header: Header) -> dict[str, Any]:
    """Resolve data/file references and check step-name parameters; return raw params."""
    resolved = dict(body)
    for f in stype.fields():
        ref_kind, key = f.metadata.get("ref"), field_key(f)
        if ref_kind is None or key not in body or getattr(typed, f.name) is None:
            continue
        value = body[key]
        if find_refs(value):
            continue  # resolved at run time
        if ref_kind == "step":
            names = [value] if isinstance(value, str) else list(value)
            kinds = f.metadata["kinds"]
            for i, n in enumerate(names):
                path = (key,) if isinstance(value, str) else (key, str(i))
                if n not in earlier:
                    known = ", ".join(earlier) or "none"
                    raise located.error(path, f"key {key!r}: no earlier step named {n!r}"
                                              f"{suggest(n, list(earlier))}; earlier steps: {known}")
                if kinds and earlier[n].kind not in kinds:
                    raise located.error(path, f"key {key!r}: step {n!r} is a {earlier[n].kind} "
                                              f"step; expected {' or '.join(kinds)}")
        else:
            resolved[key] = _resolve_paths(value, (key,), located, ref_kind)
    return resolved


def _resolve_paths(value: Any, path: tuple[str, ...], located: _Located, kind: str) -> Any:
    if isinstance(value, str):
        if kind == "data" and value == "auto":  # a step's own default, resolved when it runs
            return value
        base = _base_dir(find_where(located.params, list(path), located.where))
        try:
            if kind == "data":
                return resolve_data_ref(value, base)
            p = Path(value).expanduser()
            p = p if p.is_absolute() else base / p
            if not p.is_file():
                raise ConfigError(f"file {value!r} not found (paths are relative to the recipe)")
            return str(p.resolve())
        except BiaskitError as exc:
            raise located.error(path, f"key {'.'.join(path)!r}: {exc}") from None
    if isinstance(value, Mapping):
        return {k: _resolve_paths(v, (*path, str(k)), located, kind) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_paths(v, (*path, str(i)), located, kind) for i, v in enumerate(value)]
    return value


def _base_dir(where: str) -> Path:
    """Folder that relative paths written at `where` ("file:line" or "--set ...") start from."""
    if where.startswith("--set"):
        return Path.cwd()
    return Path(where.rsplit(":", 1)[0]).parent
