"""Model variants: the base weights, a LoRA adapter, or a saved edit, applied in place.

A study of fine-tuned versions of one model (one adapter per profile group, a CDA
fine-tune, a MEMIT edit) must compare them on the same prompts. Loading one full model
per variant would multiply memory by the number of variants; instead every variant is a
set of additive weight deltas put onto the one loaded model and taken off again:

- `adapter`: a peft LoRA folder (`adapter_config.json` + `adapter_model.safetensors`).
  Its merged delta `B @ A * scale` (scale `alpha / r`, or `alpha / sqrt(r)` with rsLoRA)
  is computed here from the two files, laid out like the target weight (transposed for
  GPT-2's `Conv1D`, whose weight is [in, out]), and added through
  `biaskit.editors.result.apply_deltas`, which keeps exact copies of the originals.
- `edit`: a folder written by `EditResult.save` (`deltas.safetensors` + `edit.json`).
- `base`: nothing changes.

`apply_variant` is a context manager, so every step (capture, probe, evaluate, generate)
can run on a variant and find the base weights bit-identical afterwards, even on error.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from biaskit.errors import DataError, ModelError

log = logging.getLogger(__name__)

VariantKind = Literal["base", "adapter", "edit"]
ADAPTER_CONFIG, ADAPTER_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
ADAPTER_META = "adapter.json"
BASE = "base"
_LORA_KEY = re.compile(r"^(?P<module>.+)\.(?P<which>lora_A|lora_B|lora_embedding_A|lora_embedding_B)"
                       r"(?:\.weight)?$")
_FULL_KEY = re.compile(r"^(?P<module>.+?)(?:\.base_layer)?\.weight$")
_UNSUPPORTED = ("use_dora", "lora_bias", "use_qalora", "layer_replication", "trainable_token_indices",
                "target_parameters", "alora_invocation_tokens")


@dataclass(frozen=True)
class Variant:
    """One version of the model to run a step on.

    Attributes:
        name: Label used in results (a group name, a folder name, or "base").
        path: The adapter or edit folder (None for the base model).
        kind: "base" (no change), "adapter" (peft LoRA folder) or "edit" (saved EditResult).
    """

    name: str
    path: str | None = None
    kind: VariantKind = "base"


def detect_kind(path: str | Path) -> VariantKind:
    """Whether `path` is a peft adapter folder or a saved edit (folder or deltas file).

    Raises:
        DataError: `path` does not exist or is neither (the message says what was expected).
    """
    folder = Path(path).expanduser()
    if not folder.exists():
        raise DataError(f"variant path {str(path)!r} does not exist")
    if folder.is_file() and folder.suffix == ".safetensors" and (folder.parent / "edit.json").is_file():
        return "edit"
    if (folder / ADAPTER_CONFIG).is_file():
        return "adapter"
    if (folder / "edit.json").is_file() and (folder / "deltas.safetensors").is_file():
        return "edit"
    raise DataError(f"{path} is neither a peft adapter (no {ADAPTER_CONFIG}) nor a saved edit "
                    "(no edit.json + deltas.safetensors)")


def parse_variants(spec: Any, *, base_dir: str | Path | None = None) -> list[Variant]:
    """Read a `variants:` value into `Variant`s (kinds detected from the folders).

    Accepted forms, alone or in a list: `"base"`; a path; `{name: ..., path: ...}`; and a
    mapping `{name: path, ...}` such as the `adapters` output of a `finetune` step
    (`variants: [base, "${finetune.adapters}"]`). None means just the base model.

    Args:
        spec: The value.
        base_dir: Folder relative paths are resolved against (default: the working folder).

    Raises:
        DataError: A path that is not an adapter or an edit, a malformed entry, or two
            variants with the same name.
    """
    items = [] if spec is None else list(spec) if isinstance(spec, (list, tuple)) else [spec]
    out: list[Variant] = []
    for item in items or [BASE]:
        out.extend(_parse_item(item, base_dir))
    seen: set[str] = set()
    for v in out:
        if v.name in seen:
            raise DataError(f"two variants are named {v.name!r}; give them names with "
                            "{name: ..., path: ...}")
        seen.add(v.name)
    return out


def _parse_item(item: Any, base_dir: str | Path | None) -> list[Variant]:
    if isinstance(item, Variant):
        return [item]
    if isinstance(item, (str, Path)):
        text = str(item)
        if text == BASE:
            return [Variant(BASE)]
        path = _resolve(text, base_dir)
        return [Variant(Path(text).name or text, str(path), detect_kind(path))]
    if isinstance(item, Mapping):
        if "path" in item:
            unknown = set(item) - {"name", "path", "kind"}
            if unknown:
                raise DataError(f"variant {dict(item)!r}: unknown key(s) {sorted(unknown)}; use name, path")
            if item["path"] in (None, BASE):
                return [Variant(str(item.get("name") or BASE))]
            path = _resolve(str(item["path"]), base_dir)
            return [Variant(str(item.get("name") or path.name), str(path), detect_kind(path))]
        out = []
        for name, value in item.items():  # {group: path}: the adapters output of `finetune`
            if value in (None, BASE):
                out.append(Variant(str(name)))
                continue
            path = _resolve(str(value), base_dir)
            out.append(Variant(str(name), str(path), detect_kind(path)))
        return out
    raise DataError(f"cannot read variant {item!r}: use 'base', a path, or {{name: ..., path: ...}}")


def _resolve(text: str, base_dir: str | Path | None) -> Path:
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None and (Path(base_dir) / path).exists():
        return (Path(base_dir) / path).resolve()
    return path.resolve() if path.exists() else path


def resolve_variants(ctx: Any, spec: Any) -> list[Variant]:
    """`parse_variants` for a recipe step: also accepts the names of earlier steps.

    A string naming an earlier completed step of kind `finetune` stands for all its
    adapters (named by group; a single adapter trained on texts, group `all`, is named
    after the step); one naming an `edit` or `erase` step stands for its saved deltas,
    named after the step, which must have run with `keep: false` (otherwise its change
    is already in the weights). Relative paths are tried against the run folder, then
    the recipe's folder.

    Raises:
        DataError: As `parse_variants`, or an edit/erase step that kept its change.
    """
    items = [] if spec is None else list(spec) if isinstance(spec, (list, tuple)) else [spec]
    expanded: list[Any] = []
    has = hasattr(ctx, "earlier")
    earlier = set(ctx.earlier("finetune")) if has else set()
    edits = {*ctx.earlier("edit"), *ctx.earlier("erase")} if has else set()
    for item in items:
        if isinstance(item, str) and item in earlier:
            adapters = dict(ctx.outputs(item)["adapters"])
            expanded.append({item: adapters["all"]} if list(adapters) == ["all"] else adapters)
        elif isinstance(item, str) and item in edits:
            expanded.append({"name": item, "path": str(_saved_edit(ctx, item))})
        else:
            expanded.append(item)
    recipe_dir = Path(str(ctx.recipe.get("path", "."))).parent if getattr(ctx, "recipe", None) else None
    out: list[Variant] = []
    for item in expanded or [BASE]:
        base_dir = ctx.run_dir
        if isinstance(item, str) and item != BASE and not (Path(ctx.run_dir) / item).exists() \
                and recipe_dir is not None:
            base_dir = recipe_dir
        out.extend(parse_variants([item], base_dir=base_dir))
    names = [v.name for v in out]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"two variants are named {dup!r}; give them names with {{name: ..., path: ...}}")
    return out


def _saved_edit(ctx: Any, step: str) -> Path:
    """The folder an earlier edit/erase step saved its deltas in (`<step>/edit`, `<step>/erase`)."""
    if getattr(ctx, "params_of", None) is not None and ctx.params_of(step).get("keep", True):
        raise DataError(f"variant {step!r}: that step kept its change in the weights, so the model "
                        f"already carries it; set `keep: false` on step {step!r} to compare it as a "
                        "variant")
    folder = Path(ctx.run_dir) / step
    found = sorted(f.parent for f in folder.glob("*/edit.json")
                   if (f.parent / "deltas.safetensors").is_file())
    if not found:
        raise DataError(f"variant {step!r}: no saved edit (edit.json + deltas.safetensors) under {folder}")
    return found[0]


# -- LoRA deltas ------------------------------------------------------------------------
def read_adapter_config(path: str | Path) -> dict[str, Any]:
    """The `adapter_config.json` of a peft folder, checked to be a plain LoRA we can merge."""
    folder = Path(path)
    if not (folder / ADAPTER_CONFIG).is_file():
        raise ModelError(f"{path} is not a peft adapter (no {ADAPTER_CONFIG})")
    try:
        config = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{folder / ADAPTER_CONFIG}: not valid JSON ({exc})") from None
    kind = str(config.get("peft_type", "LORA")).upper()
    if kind != "LORA":
        raise ModelError(f"{path}: peft_type {kind} is not supported; biaskit merges LoRA adapters")
    for key in _UNSUPPORTED:
        if config.get(key):
            raise ModelError(f"{path}: LoRA option {key!r} is not supported by biaskit's merge; "
                             "merge it with peft's merge_and_unload and load the merged model")
    if config.get("modules_to_save"):
        raise ModelError(f"{path}: modules_to_save (fully trained modules) is not supported; "
                         "merge it with peft's merge_and_unload and load the merged model")
    return config


def lora_deltas(model: Any, path: str | Path) -> dict[str, Any]:
    """Parameter name -> merged LoRA delta (float32, the parameter's shape) of an adapter.

    Raises:
        ModelError: Not a LoRA folder, an unsupported option, or a module the model lacks.
        DataError: A key that is not a LoRA factor, or factors whose shapes do not chain.
    """
    import torch
    from safetensors.torch import load_file

    folder = Path(path)
    config = read_adapter_config(folder)
    weights_file = folder / ADAPTER_WEIGHTS
    if not weights_file.is_file():
        raise DataError(f"{path}: no {ADAPTER_WEIGHTS} beside {ADAPTER_CONFIG}")
    tensors = load_file(str(weights_file))
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    full: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        match = _LORA_KEY.match(key)
        if match is not None:
            kind = match["which"].replace("embedding_", "")
            pairs.setdefault(match["module"], {})[kind] = value
        elif (whole := _FULL_KEY.match(key)) is not None:
            full[whole["module"]] = value  # peft saves whole embedding layers beside their LoRA
        else:
            raise DataError(f"{weights_file}: tensor {key!r} is not a LoRA factor (lora_A/lora_B); "
                            "biaskit merges plain LoRA adapters only")
    modules = dict(model.hf.named_modules())
    params = dict(model.hf.named_parameters())
    deltas: dict[str, torch.Tensor] = {}
    for saved, weight in full.items():
        target = f"{_module_name(saved, modules, model)}.weight"
        current = params[target].detach()
        if tuple(weight.shape) != tuple(current.shape):
            raise ModelError(f"{path}: the saved {target} has shape {tuple(weight.shape)}, the model's "
                             f"{tuple(current.shape)} (a resized vocabulary): merge with peft instead")
        if not torch.equal(weight.to(current.device, current.dtype), current):
            deltas[target] = weight.float().cpu() - current.float().cpu()
    for saved, factors in sorted(pairs.items()):
        if set(factors) != {"lora_A", "lora_B"}:
            raise DataError(f"{weights_file}: module {saved!r} lacks lora_A or lora_B")
        name = _module_name(saved, modules, model)
        a, b = factors["lora_A"].float(), factors["lora_B"].float()
        embedding = isinstance(modules[name], torch.nn.Embedding)
        r = a.shape[0]  # A is [r, in] (or [r, vocab] for an embedding), B is [out, r]
        if b.dim() != 2 or b.shape[1] != r:
            raise DataError(f"{weights_file}: lora_A/lora_B of {saved!r} have shapes "
                            f"{tuple(a.shape)} and {tuple(b.shape)}, which do not chain")
        delta = (b @ a) * _scaling(config, name, r)
        # Layouts: nn.Linear stores [out, in] like B @ A; GPT-2's Conv1D stores [in, out],
        # and peft's embedding factors give [dim, vocab]: both need the transpose.
        if embedding or _is_conv1d(modules[name]):
            delta = delta.T
        target = f"{name}.weight"
        if target not in params:
            raise ModelError(f"{path}: {model.name!r} has no weight {target!r}")
        if tuple(delta.shape) != tuple(params[target].shape):
            raise ModelError(f"{path}: the delta for {target} has shape {tuple(delta.shape)}, the "
                             f"weight {tuple(params[target].shape)}: the adapter was trained on "
                             "another architecture or size")
        deltas[target] = (deltas[target] + delta if target in deltas else delta).contiguous()
    if not deltas and not full:
        raise DataError(f"{weights_file}: no LoRA factors")
    return deltas


def _scaling(config: Mapping[str, Any], module: str, r: int) -> float:
    """The scale peft gives one module: alpha / r, or alpha / sqrt(r) with rsLoRA.

    `rank_pattern` / `alpha_pattern` keys match a module name the way peft matches them:
    the whole name, or a dotted suffix of it, as a regular expression.
    """
    alpha = config.get("lora_alpha", 8)
    for pattern, value in (config.get("alpha_pattern") or {}).items():
        if re.match(rf"(.*\.)?({pattern})$", module):
            alpha = value
            break
    declared = config.get("r", r)
    for pattern, value in (config.get("rank_pattern") or {}).items():
        if re.match(rf"(.*\.)?({pattern})$", module):
            declared = value
            break
    if int(declared) != r:
        log.warning("adapter says rank %s for %s but its factors have rank %d; using %d",
                    declared, module, r, r)
    return float(alpha) / (math.sqrt(r) if config.get("use_rslora") else r)


def _module_name(saved: str, modules: Mapping[str, Any], model: Any) -> str:
    """The model's module for a saved key (`base_model.model.` + the path peft saw)."""
    name = saved[len("base_model.model."):] if saved.startswith("base_model.model.") else saved
    if name in modules:
        return name
    prefix = getattr(model.hf, "base_model_prefix", "")
    if prefix and f"{prefix}.{name}" in modules:  # trained on the bare transformer
        return f"{prefix}.{name}"
    raise ModelError(f"the adapter targets module {name!r}, which {model.name!r} does not have: "
                     "it was trained on another architecture")


def _is_conv1d(module: Any) -> bool:
    try:
        from transformers.pytorch_utils import Conv1D
    except ImportError:  # pragma: no cover - transformers always has it
        return False
    return isinstance(module, Conv1D)


# -- applying ---------------------------------------------------------------------------
def variant_edit(model: Any, variant: Variant) -> Any:
    """Apply a non-base variant to `model` and return its `EditResult` (caller restores)."""
    from biaskit.editors.result import apply_deltas, apply_saved

    if variant.kind == "edit":
        return apply_saved(model, str(variant.path))
    if variant.kind == "adapter":
        _check_base(model, Path(str(variant.path)))
        config = read_adapter_config(str(variant.path))
        return apply_deltas(model, lora_deltas(model, str(variant.path)), method="lora",
                            config={k: config.get(k) for k in ("r", "lora_alpha", "use_rslora",
                                                               "target_modules")})
    raise DataError(f"variant {variant.name!r}: unknown kind {variant.kind!r}")


@contextmanager
def apply_variant(model: Any, variant: Variant | str) -> Iterator[Any]:
    """Put `variant`'s weights on `model` for the block, then restore them exactly.

    The base weights come back bit-identical on exit, also when the block raises.
    """
    if isinstance(variant, str):
        variant = parse_variants([variant])[0]
    if variant.kind == "base" or variant.path is None:
        yield model
        return
    result = variant_edit(model, variant)
    log.debug("variant %s (%s) applied to %s", variant.name, variant.kind, model.name)
    try:
        yield model
    finally:
        result.restore()


def merge_adapter(model: Any, path: str | Path) -> Any:
    """`model` with the LoRA adapter at `path` merged into its weights for good.

    Returns a `Model` sharing the same weights, named `<model>+<adapter folder>`.

    Raises:
        ModelError: Not an adapter, or a model quantised to 4 bits (merge into 16/32-bit weights).
    """
    if getattr(model.hf, "is_loaded_in_4bit", False) or getattr(model.hf, "is_loaded_in_8bit", False):
        raise ModelError("an adapter cannot be merged into a quantised model; load it in "
                         "float32/bfloat16 (a QLoRA adapter applies to the unquantised model)")
    folder = Path(path).expanduser()
    read_adapter_config(folder)  # "not a peft adapter" before anything else
    variant_edit(model, Variant(folder.name, str(folder), "adapter"))
    return dataclasses.replace(model, name=f"{model.name}+{folder.name}")


def _check_base(model: Any, folder: Path) -> None:
    """Warn when an adapter written by biaskit was trained on other weights."""
    meta = folder / ADAPTER_META
    if not meta.is_file():
        return
    try:
        trained_on = json.loads(meta.read_text(encoding="utf-8")).get("base_fingerprint")
    except ValueError:
        return
    current = model.fingerprint() if trained_on else None
    if trained_on and trained_on != current:
        log.warning("adapter %s was trained on weights with fingerprint %s, not these (%s); "
                    "fine for a QLoRA adapter on the unquantised model, else check the base model",
                    folder, trained_on, current)

