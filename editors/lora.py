"""LoRA / QLoRA fine-tunes, one per sociodemographic group, saved as model variants.

To study how a model absorbs the social structure of its training data, one fine-tunes
one version of the model per profile group of a conversation log and compares them.
LoRA (Hu et al. 2021) makes that affordable: each version is a low-rank update
`W + B @ A * alpha / r` of chosen projections, a few MB on disk, and many versions share
one base model in memory (`biaskit.models.variants`).

`finetune(model, corpus, config)` trains one adapter with peft on the model's own
module (chat template applied, loss on assistant tokens only, see `lora_data`) and
saves it in peft format plus `adapter.json` (group, sizes, config, loss curve, the base
model's fingerprint). The base model is left bit-identical: peft's layers are removed
again (`unload`) and the base weights are never trained. `finetune_by` trains one adapter
per group of an `InteractionSplit` with the same seed and the same number of steps, and
skips groups whose adapter is already complete (resumable). `objective: cda` first adds a
gender-swapped copy of the corpus (`biaskit.editors.cda`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from biaskit.configs import from_mapping, to_mapping
from biaskit.editors.lora_data import Example, batches, collate, fingerprint, n_steps, prepare
from biaskit.errors import ConfigError, DataError, EditError, ModelError
from biaskit.io import atomic_dir, read_json, write_json
from biaskit.models.variants import ADAPTER_CONFIG, ADAPTER_META, ADAPTER_WEIGHTS, Variant

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
INDEX_FILE = "adapters.json"


@dataclass(frozen=True)
class LoraConfig:
    """Settings of a LoRA fine-tune.

    Attributes:
        rank: r, the rank of each update.
        alpha: Scale numerator: the update is `B @ A * alpha / rank` (`/ sqrt(rank)` with rslora).
        dropout: Dropout on the LoRA input during training.
        target_modules: "auto" (every linear projection of attention and MLP, found through
            the architecture adapter: q/k/v/o + gate/up/down for Llama-like models), "attn",
            "mlp", or explicit module names as peft takes them.
        layers: Blocks to adapt (None: all).
        rslora: Rank-stabilised scaling alpha / sqrt(rank).
        lr: Peak learning rate (AdamW; linear warm-up, then linear decay to 0).
        epochs: Passes over the data (used when `max_steps` is None).
        max_steps: Optimiser steps; overrides `epochs`. `finetune_by` sets one for all groups.
        warmup_steps: Steps of linear warm-up.
        weight_decay: AdamW weight decay on the LoRA factors.
        max_length: Tokens per example; longer conversations are cut at the end.
        batch_size: Examples per step.
        seed: Seed of the LoRA initialisation, dropout and batch order.
        objective: "lm" (the corpus as is) or "cda" (plus its gender-swapped copy).
        cda_languages: Languages CDA swaps (word pairs in data/wordpairs).
        quantize: "none", or "4bit" for QLoRA (needs a CUDA GPU and bitsandbytes).
        log_every: Steps per point of the recorded loss curve.
    """

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "auto"
    layers: tuple[int, ...] | None = None
    rslora: bool = False
    lr: float = 2e-4
    epochs: float = 1.0
    max_steps: int | None = None
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_length: int = 512
    batch_size: int = 8
    seed: int = 0
    objective: Literal["lm", "cda"] = "lm"
    cda_languages: tuple[str, ...] = ("en", "es", "fr")
    quantize: Literal["none", "4bit"] = "none"
    log_every: int = 10

    def __post_init__(self) -> None:
        checks = [(self.rank >= 1, "rank must be >= 1"), (self.alpha > 0, "alpha must be > 0"),
                  (0 <= self.dropout < 1, "dropout must be in [0, 1)"), (self.lr > 0, "lr must be > 0"),
                  (self.epochs > 0, "epochs must be > 0"), (self.batch_size >= 1, "batch_size must be >= 1"),
                  (self.max_length >= 2, "max_length must be >= 2"),
                  (self.log_every >= 1, "log_every must be >= 1"),
                  (self.max_steps is None or self.max_steps >= 1, "max_steps must be >= 1"),
                  (self.warmup_steps >= 0, "warmup_steps must be >= 0"),
                  (not isinstance(self.target_modules, str) or self.target_modules in ("auto", "attn", "mlp"),
                   "target_modules must be auto, attn, mlp or a list of module names")]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"LoRA config: {message}")


@dataclass(frozen=True)
class Adapter:
    """A trained LoRA adapter on disk (peft format + adapter.json).

    Attributes:
        path: Its folder.
        group: The group it was trained for (None for a single fine-tune).
        sizes: Counts: items, examples, tokens, trained_tokens, steps, epochs (and heldout).
        curve: Loss curve, one {step, loss, lr} per `log_every` steps.
        config: The settings it was trained with (steps included).
        base_fingerprint: `Model.fingerprint()` of the weights it was trained on.
        profile: Profile fields of the group.
    """

    path: Path
    group: str | None
    sizes: Mapping[str, Any]
    curve: tuple[dict[str, Any], ...]
    config: LoraConfig
    base_fingerprint: str
    profile: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def variant(self) -> Variant:
        """This adapter as a model variant (for `apply_variant` and `variants:`)."""
        return Variant(self.group or self.path.name, str(self.path), "adapter")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Adapter:
        """Read a complete adapter folder written by `finetune`."""
        folder = Path(path)
        if not is_complete(folder):
            raise DataError(f"{folder} is not a complete biaskit adapter ({ADAPTER_META}, "
                            f"{ADAPTER_CONFIG}, {ADAPTER_WEIGHTS})")
        meta = read_json(folder / ADAPTER_META)
        return cls(folder, meta.get("group"), meta["sizes"], tuple(meta["curve"]),
                   from_mapping(LoraConfig, meta["config"], source=str(folder / ADAPTER_META)),
                   meta["base_fingerprint"], meta.get("profile") or {})


def is_complete(folder: Path) -> bool:
    """An adapter folder with its three files (adapter.json is written last)."""
    return all((folder / f).is_file() for f in (ADAPTER_META, ADAPTER_CONFIG, ADAPTER_WEIGHTS))


def target_modules(model: Any, config: LoraConfig) -> str | list[str]:
    """The modules to adapt, as a peft target: a regex over full module names, or the user's list.

    "auto" takes every `nn.Linear` (or GPT-2 `Conv1D`) inside the attention and MLP
    modules that the architecture adapter names, in the chosen blocks, so nothing is
    matched by a substring of its name.
    """
    import torch

    if not isinstance(config.target_modules, str):
        return list(config.target_modules)
    from transformers.pytorch_utils import Conv1D

    arch = model.adapter
    parts = {"auto": (arch.attn, arch.mlp), "attn": (arch.attn,), "mlp": (arch.mlp,)}[config.target_modules]
    block = arch.blocks(model.hf)[0]
    rel: list[str] = []
    for part in parts:
        for name, module in block.get_submodule(part).named_modules():
            full = f"{part}.{name}" if name else part
            if isinstance(module, (torch.nn.Linear, Conv1D)) and full not in rel:
                rel.append(full)
    if not rel:
        raise ModelError(f"no linear projection found in {', '.join(parts)} of {model.name!r}")
    layers = model.resolve_layers(list(config.layers)) if config.layers else range(model.n_layers)
    prefix = model.module_path("resid", "LAYER").split("LAYER")[0]
    return (rf"{re.escape(prefix)}({'|'.join(str(i) for i in layers)})\."
            rf"({'|'.join(re.escape(r) for r in rel)})")


def finetune(model: Any, corpus: Iterable[Any], config: LoraConfig | Mapping[str, Any] | None = None, *,
             out: str | os.PathLike[str] | None = None, progress: bool = True, group: str | None = None,
             profile: Mapping[str, str] | None = None, extra_sizes: Mapping[str, int] | None = None
             ) -> Adapter:
    """Train one LoRA adapter on `corpus` and save it; the base model is left unchanged.

    Args:
        model: A causal `Model`.
        corpus: Conversations (`Conversation`s, rows or lists of {role, content}) and/or
            texts (strings, rows with `text`).
        config: A `LoraConfig` or a mapping of its fields.
        out: Adapter folder (written under a temporary name, renamed when complete);
            None: a new temporary folder.
        progress: Show a progress bar with the loss.
        group: Group name recorded in adapter.json.
        profile: The group's profile fields, recorded too.
        extra_sizes: More counts to record (e.g. held-out conversations).

    Raises:
        ConfigError: Bad settings, QLoRA without CUDA/bitsandbytes, or `out` holds other files.
        DataError: Nothing to train on.
        EditError: The loss became NaN (the base model is still restored).
    """
    config = from_mapping(LoraConfig, config, source="LoRA config")
    examples, n_items = prepare(model, corpus, config)
    return _finetune_examples(model, examples, n_items, config, out=out, progress=progress, group=group,
                              profile=profile, extra_sizes=extra_sizes)


def _finetune_examples(model: Any, examples: list[Example], n_items: int, config: LoraConfig, *,
                       out: str | os.PathLike[str] | None, progress: bool, group: str | None,
                       profile: Mapping[str, str] | None, extra_sizes: Mapping[str, int] | None,
                       base_fingerprint: str | None = None) -> Adapter:
    if not model.adapter.causal:
        raise ModelError(f"LoRA fine-tuning needs a causal LM; {model.model_type} is probing only")
    target = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="biaskit-lora-"))
    if target.exists() and any(target.iterdir()) and not (target / ADAPTER_CONFIG).exists():
        raise ConfigError(f"{target} exists and is not an adapter folder; choose another output folder")
    steps = n_steps(len(examples), config)
    config = dataclasses.replace(config, max_steps=steps)
    base_fp = base_fingerprint or model.fingerprint()
    trainer = _quantized(model) if config.quantize == "4bit" else model
    with atomic_dir(target) as tmp:
        curve = _train(trainer, examples, config, target_modules(trainer, config), tmp,
                       label=f"LoRA {group}" if group else "LoRA", progress=progress)
        if trainer is model and model.fingerprint() != base_fp:
            raise RuntimeError("LoRA training changed the base weights (a bug in biaskit)")
        sizes = {"items": n_items, "examples": len(examples), "tokens": sum(len(e.ids) for e in examples),
                 "trained_tokens": sum(e.n_trained for e in examples), "steps": steps,
                 "epochs": round(steps * config.batch_size / len(examples), 4), **(extra_sizes or {})}
        write_json(tmp / ADAPTER_META, {
            "format": FORMAT_VERSION, "group": group, "profile": dict(profile or {}), "sizes": sizes,
            "config": to_mapping(config), "curve": curve, "base_fingerprint": base_fp,
            "base_model": model.name, "model_type": model.model_type,
            "data_fingerprint": fingerprint(examples)})
    log.info("LoRA adapter%s saved to %s (%d steps, final loss %s)", f" for {group}" if group else "",
             target, steps, curve[-1]["loss"] if curve else "n/a")
    return Adapter.load(target)


def _quantized(model: Any) -> Any:
    """The model in 4 bits for QLoRA (loaded again from its source), or a clear error."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError("quantize: 4bit (QLoRA) needs a CUDA GPU and bitsandbytes; no CUDA GPU "
                          "is available here: use quantize: none")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ConfigError("quantize: 4bit (QLoRA) needs bitsandbytes: pip install bitsandbytes, "
                          "or use quantize: none") from None
    if getattr(model.hf, "is_loaded_in_4bit", False):
        return model
    from peft import prepare_model_for_kbit_training

    from biaskit.models import load_model

    source = getattr(model.hf.config, "_name_or_path", "") or model.name
    dtype = model.dtype if model.dtype != torch.float32 else torch.bfloat16
    quantized = load_model(source, dtype=dtype, load_in_4bit=True)
    prepare_model_for_kbit_training(quantized.hf, use_gradient_checkpointing=True)
    return quantized


def group_folder(name: str) -> str:
    """A filesystem-safe folder name for a group (`a=x|b=y` -> `a=x__b=y`)."""
    return re.sub(r"[^\w.+=-]", "_", name.replace("|", "__")) or "group"


def finetune_by(model: Any, split: Any, config: LoraConfig | Mapping[str, Any] | None = None, *,
                out: str | os.PathLike[str], resume: bool = True, progress: bool = True
                ) -> dict[str, Adapter]:
    """One adapter per group of `split`, same seed and same number of steps for every group.

    The step budget is `config.max_steps`, else `epochs` over the median group's training
    size, so adapters differ by their data, not by how long they trained. A group whose
    folder already holds a complete adapter trained with the same settings, data and base
    weights is skipped (`resume`); a partial one is never taken for complete, because each
    adapter is written under a temporary name and renamed only when finished.

    Args:
        model: A causal `Model` (left unchanged).
        split: An `InteractionSplit` (`biaskit.data.interactions.split_by`).
        config: LoRA settings.
        out: Folder; adapter of group g in `out/<group_folder(g)>`, an index in adapters.json.
        resume: Skip complete, current adapters.
        progress: Progress bars.

    Raises:
        DataError: The split has no group (all below min_size).
    """
    config = from_mapping(LoraConfig, config, source="LoRA config")
    groups = dict(split.groups)
    if not groups:
        skipped = ", ".join(f"{k} ({v})" for k, v in dict(getattr(split, "skipped", {})).items())
        raise DataError(f"no group is large enough to fine-tune on (skipped: {skipped or 'none'})")
    root = Path(out)
    if config.max_steps is None:
        sizes = sorted(len(sub.train) for sub in groups.values())
        config = dataclasses.replace(config, max_steps=n_steps(sizes[len(sizes) // 2], config))
    base_fp = model.fingerprint()
    adapters: dict[str, Adapter] = {}
    for name, sub in groups.items():
        folder = root / group_folder(name)
        examples, n_items = prepare(model, sub.train, config)
        if resume and _current(folder, config, base_fp, examples):
            log.info("adapter for %s is complete in %s: skipped", name, folder)
            adapters[name] = Adapter.load(folder)
        else:
            adapters[name] = _finetune_examples(
                model, examples, n_items, config, out=folder, progress=progress, group=name,
                profile=dict(sub.profile), extra_sizes={"heldout": len(sub.heldout)},
                base_fingerprint=base_fp)
        write_json(root / INDEX_FILE, {g: {"folder": a.path.name, "profile": dict(a.profile),
                                           "sizes": dict(a.sizes)} for g, a in adapters.items()})
    return adapters


def _current(folder: Path, config: LoraConfig, base_fp: str, examples: Sequence[Example]) -> bool:
    """Whether `folder` holds a complete adapter of exactly this training run."""
    if not is_complete(folder):
        return False
    meta = read_json(folder / ADAPTER_META)
    same = (meta.get("config") == to_mapping(config) and meta.get("base_fingerprint") == base_fp
            and meta.get("data_fingerprint") == fingerprint(examples))
    if not same:
        log.warning("adapter in %s was trained with other settings, data or base weights: retraining",
                    folder)
    return same


def _train(model: Any, examples: Sequence[Example], config: LoraConfig, targets: str | list[str],
           out: Path, *, label: str, progress: bool) -> list[dict[str, Any]]:
    """Wrap the model with peft, train the LoRA factors, save them, and unwrap again.

    Only the LoRA factors are trainable; afterwards peft's layers are removed (`unload`)
    and every parameter's `requires_grad` and the train/eval mode are put back, so the
    base model is exactly as before, also when training fails.
    """
    import torch
    from peft import LoraConfig as PeftConfig
    from peft import get_peft_model

    from biaskit.progress import new_progress

    hf = model.hf
    grads = {name: p.requires_grad for name, p in hf.named_parameters()}
    was_training = hf.training
    peft_config = PeftConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
                             target_modules=targets, use_rslora=config.rslora, bias="none",
                             fan_in_fan_out=bool(model.adapter.conv1d),  # GPT-2's Conv1D layout
                             task_type="CAUSAL_LM")
    devices = [model.device] if model.device.type == "cuda" else []
    steps = int(config.max_steps or 1)
    curve: list[dict[str, Any]] = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(config.seed)
        try:
            wrapped = get_peft_model(hf, peft_config)
        except ValueError as exc:  # e.g. target module names that match nothing
            for name, p in hf.named_parameters():
                p.requires_grad_(grads[name])
            raise ConfigError(f"LoRA: {str(exc).splitlines()[0]}") from None
        try:
            wrapped.train()
            params = [p for p in wrapped.parameters() if p.requires_grad]
            optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
            stream = batches(len(examples), config.batch_size, config.seed)
            pad = getattr(model.tokenizer, "pad_token_id", None)
            window: list[float] = []
            bar = new_progress("loss {task.fields[loss]:.3f}") if progress else None
            task = bar.add_task(label, total=steps, loss=float("nan")) if bar else None
            with bar if bar is not None else contextlib.nullcontext():
                for step in range(steps):
                    lr = _lr(step, steps, config)
                    for group in optimizer.param_groups:
                        group["lr"] = lr
                    ids, mask, labels = collate([examples[i] for i in next(stream)], pad)
                    loss = wrapped(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                                   labels=labels.to(model.device), use_cache=False).loss
                    if not torch.isfinite(loss):
                        raise EditError(f"LoRA training diverged (loss {loss.item()}) at step {step + 1}; "
                                        "lower lr; the base model is unchanged")
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    optimizer.step()
                    window.append(loss.item())
                    if (step + 1) % config.log_every == 0 or step + 1 == steps:
                        curve.append({"step": step + 1, "loss": round(sum(window) / len(window), 6),
                                      "lr": round(lr, 10)})
                        window = []
                    if bar is not None:
                        bar.update(task, advance=1, loss=loss.item())
            wrapped.save_pretrained(str(out))
        finally:
            wrapped.unload()
            for name, p in hf.named_parameters():
                p.requires_grad_(grads.get(name, p.requires_grad))
            hf.train(was_training)
    return curve


def _lr(step: int, steps: int, config: LoraConfig) -> float:
    """Linear warm-up to `lr`, then linear decay towards 0 at the last step."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    return config.lr * (steps - step) / max(1, steps - config.warmup_steps)
