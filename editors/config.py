"""Typed hyperparameters of the weight editors, and the loader for user and EasyEdit files.

One frozen dataclass per method. The defaults are the published values for 6-8B models
(GPT-J, Llama-2/3-7B/8B, see the ROME, MEMIT and AlphaEdit papers); the layers default to
a depth-relative rule (`default_layers`) because a fixed index cannot suit a 4-layer lab
model and a 32-layer Llama alike. For small models (GPT-2-small, the lab), see the notes
on each field: lower `mom2_n_samples` to what the corpus holds and pick the layer with
`biaskit locate`.

`load_hparams(method, source)` accepts a biaskit YAML/JSON file or mapping (unknown keys
are refused, naming the key and the file) and EasyEdit's ROME/MEMIT/AlphaEdit hparams
files, whose module templates (`rewrite_module_tmp`, ...) are kept and checked against the
model's architecture adapter before any edit, so hparams written for another architecture
fail with a clear message instead of editing the wrong matrix.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from biaskit.configs import from_mapping, read_yaml, to_mapping
from biaskit.errors import ConfigError

log = logging.getLogger(__name__)

Objective = Literal["rewrite", "equalize"]


@dataclass(frozen=True)
class EditConfig:
    """Settings shared by ROME, MEMIT and AlphaEdit.

    Attributes:
        layers: Layers whose MLP output projection is rewritten. Empty: `default_layers`
            (ROME: one layer at a fifth of the depth; MEMIT/AlphaEdit: a window after the
            first eighth). Prefer what `biaskit locate` reports.
        fact_token: Where the key is read: `subject_last` (the subject's last token, as in
            the papers), or as ROME's code also allows, `subject_first`,
            `subject_first_after_last` (the token after the subject) or `last` (the
            prompt's last token).
        objective: `rewrite` (make `target_new` the continuation) or `equalize` (make the
            request's group terms equally likely while keeping their total probability).
        mass_weight: Weight of the term that keeps the group terms' total log-probability
            (equalize only).
        v_num_grad_steps: Adam steps of the value (v* / z) optimisation (papers: 20-25).
        v_lr: Adam learning rate of that optimisation (papers: 0.5; 0.1 for AlphaEdit).
        v_loss_layer: Layer whose output gives the logits of the loss; only the last layer
            (`-1`, or its index as EasyEdit files give it) is supported.
        v_weight_decay: Weight of ||delta||^2 / ||value||^2 in the loss.
        clamp_norm_factor: ||delta|| is clamped to this times the original value's norm.
        kl_factor: Weight of KL(original || edited) next-token distributions after the
            "essence" prompts (`kl_prompts`), which keeps what the model says about the
            subject in general.
        kl_prompts: Essence prompts; `{}` is the subject.
        v_stop_loss: Stop the optimisation early once every request's objective loss is
            below this (ROME: 0.05 nats).
        mom2_adjustment: Use the key second moment C (False: C = identity, ROME only).
        mom2_n_samples: Corpus texts for C (papers: 100,000 Wikipedia texts; for the lab
            a few thousand of its corpus lines are plenty).
        mom2_dtype: dtype in which C is accumulated (`float32` or `float64`).
        stats_corpus: Corpus for C: `auto` (the lab's corpus for a lab model, else
            Wikipedia), `lab`, a .txt/.jsonl path, or `hf:<dataset>[:config][:split]`.
            Results depend on it: C says which directions of key space are "in use".
        stats_dir: Cache directory for C (default: biaskit's cache).
        stats_max_length: Tokens per corpus text when computing C.
        context_template_length_params: (length in tokens, count) pairs of context
            prefixes sampled from the model; the key and the value are averaged/optimised
            over them so the edit holds in many contexts.
        context_starters: First words from which the prefixes are sampled.
        batch_size: Sequences per forward pass.
        seed: Seed of the prefix sampling (edits are deterministic for a seed).
        module_templates: (EasyEdit field, template) pairs read from an EasyEdit hparams
            file; checked against the model's adapter before editing.
    """

    layers: tuple[int, ...] = ()
    fact_token: Literal["subject_last", "subject_first", "subject_first_after_last", "last"] = "subject_last"
    objective: Objective = "rewrite"
    mass_weight: float = 1.0
    v_num_grad_steps: int = 20
    v_lr: float = 0.5
    v_loss_layer: int = -1
    v_weight_decay: float = 0.5
    clamp_norm_factor: float = 4.0
    kl_factor: float = 0.0625
    kl_prompts: tuple[str, ...] = ("{} is a",)
    v_stop_loss: float = 0.05
    mom2_adjustment: bool = True
    mom2_n_samples: int = 100_000
    mom2_dtype: Literal["float32", "float64"] = "float32"
    stats_corpus: str = "auto"
    stats_dir: str | None = None
    stats_max_length: int = 256
    context_template_length_params: tuple[tuple[int, int], ...] = ((5, 10), (10, 10))
    context_starters: tuple[str, ...] = ("The", "Therefore", "Because", "I", "You")
    batch_size: int = 32
    seed: int = 0
    module_templates: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.v_num_grad_steps < 1:
            raise ValueError("v_num_grad_steps must be at least 1")
        if self.v_lr <= 0:
            raise ValueError("v_lr must be positive")
        if self.clamp_norm_factor <= 0:
            raise ValueError("clamp_norm_factor must be positive")
        if min((n for _, n in self.context_template_length_params), default=1) < 0:
            raise ValueError("context_template_length_params counts must be >= 0")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


@dataclass(frozen=True)
class RomeConfig(EditConfig):
    """ROME (Meng et al. 2022): one rank-one update of one layer per request.

    Defaults are the paper's GPT-2-XL / GPT-J values: 20 steps at lr 0.5, weight decay
    0.5, clamp 4x, KL 0.0625, 20 context prefixes of 5 and 10 tokens.
    """


@dataclass(frozen=True)
class MemitConfig(EditConfig):
    """MEMIT (Meng et al. 2023): many requests at once, spread over a range of layers.

    Attributes:
        mom2_update_weight: lambda in (lambda C + K K^T): how strongly the edit preserves the
            keys of the statistics corpus (paper: 15,000-20,000 for 6B-7B models). Lower it
            for a small model with a small corpus if edits do not take.
    """

    v_num_grad_steps: int = 25
    v_weight_decay: float = 1e-3
    clamp_norm_factor: float = 4.0
    mom2_update_weight: float = 15_000.0
    context_template_length_params: tuple[tuple[int, int], ...] = ((10, 5),)


@dataclass(frozen=True)
class AlphaEditConfig(MemitConfig):
    """AlphaEdit (Fang et al. 2025): MEMIT projected onto the null space of preserved keys.

    Attributes:
        nullspace_threshold: Eigenvectors of K0 K0^T (the key second moment) whose
            eigenvalue is below this span the null space the update is projected onto
            (paper: 2e-2). With `nullspace_relative`, the threshold is a fraction of the
            largest eigenvalue instead, which transfers across models whose key scales differ.
        nullspace_relative: Read `nullspace_threshold` relative to the largest eigenvalue.
        l2_weight: Weight of the ||Delta||^2 term that keeps the solve well-posed (EasyEdit's
            `L2`, paper: 10).
    """

    v_lr: float = 0.1
    v_weight_decay: float = 0.5
    clamp_norm_factor: float = 0.75
    nullspace_threshold: float = 2e-2
    nullspace_relative: bool = False
    l2_weight: float = 10.0


CONFIGS: dict[str, type[EditConfig]] = {
    "rome": RomeConfig, "memit": MemitConfig, "alphaedit": AlphaEditConfig,
}

# EasyEdit field -> biaskit field, where the meaning is the same.
_EASYEDIT_SAME = (
    "layers", "fact_token", "v_num_grad_steps", "v_lr", "v_loss_layer", "v_weight_decay",
    "clamp_norm_factor", "kl_factor", "mom2_adjustment", "mom2_n_samples", "mom2_dtype",
    "mom2_update_weight", "context_template_length_params", "stats_dir", "nullspace_threshold",
)
_EASYEDIT_RENAMED = {"L2": "l2_weight", "max_length": "stats_max_length", "batch_size": "batch_size"}
_EASYEDIT_TEMPLATES = ("rewrite_module_tmp", "layer_module_tmp", "mlp_module_tmp",
                       "attn_module_tmp", "ln_f_module", "lm_head_module")
# Fields about EasyEdit's own running (devices, caches, file names): read and ignored.
_EASYEDIT_IGNORED = ("alg_name", "model_name", "device", "model_parallel", "fp16",
                     "layer_selection", "P_loc", "mom2_dataset", "update_hparams")
_EASYEDIT_MARKERS = ("alg_name", "rewrite_module_tmp", "layer_module_tmp", "mom2_dataset")
_MOM2_DATASETS = {"wikipedia": "hf:wikimedia/wikipedia:20231101.en:train",
                  "wikitext": "hf:Salesforce/wikitext:wikitext-103-raw-v1:train"}
_ALG_NAMES = {"rome": "rome", "memit": "memit", "alphaedit": "alphaedit"}


def config_class(method: str) -> type[EditConfig]:
    """The config dataclass of `method` (rome, memit, alphaedit)."""
    try:
        return CONFIGS[method.lower()]
    except KeyError:
        raise ConfigError(f"unknown editing method {method!r}; known: {', '.join(CONFIGS)}") from None


def load_hparams(method: str, source: str | os.PathLike[str] | Mapping[str, Any] | EditConfig | None,
                 **overrides: Any) -> EditConfig:
    """Build `method`'s config from a YAML/JSON file, a mapping, or a config, plus overrides.

    EasyEdit hparams files (recognised by `alg_name` or the `*_module_tmp` fields) are
    converted: fields with the same meaning are copied, `L2` becomes `l2_weight`,
    `mom2_dataset: wikipedia` becomes a Hugging Face corpus, and the module templates are
    stored in `module_templates` to be checked against the model (`check_templates`).

    Raises:
        ConfigError: Unknown key (named, with the file), wrong type, an EasyEdit file made
            for another algorithm, or an unreadable file.
    """
    cls = config_class(method)
    name = "<config>"
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, EditConfig):
        data = _fields_of(source, cls)
    elif isinstance(source, Mapping):
        data = dict(source)
    else:
        name = str(source)
        data = _read(Path(source))
    if any(k in data for k in _EASYEDIT_MARKERS):
        data = from_easyedit(method, data, source=name)
    data.update(overrides)
    return from_mapping(cls, data, source=name)


def _fields_of(config: EditConfig, cls: type[EditConfig]) -> dict[str, Any]:
    """The fields of `config` that `cls` also has (switching method keeps shared settings)."""
    names = set(cls.__dataclass_fields__)
    return {k: v for k, v in to_mapping(config).items() if k in names}


def _read(path: Path) -> dict[str, Any]:
    if path.suffix == ".json":
        from biaskit.io import read_json

        try:
            data = read_json(path)
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
        except ValueError as exc:
            raise ConfigError(f"{path}: invalid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of keys at the top")
        return data
    return read_yaml(path)


def from_easyedit(method: str, data: Mapping[str, Any], *, source: str = "<config>") -> dict[str, Any]:
    """Translate an EasyEdit ROME/MEMIT/AlphaEdit hparams mapping into biaskit's field names.

    Keys EasyEdit uses only for its own running (device, model_name, fp16, ...) are
    ignored; any other unknown key is refused, as in a biaskit file.
    """
    alg = str(data.get("alg_name", method)).lower()
    if alg not in _ALG_NAMES:
        raise ConfigError(f"{source}: alg_name {data['alg_name']!r} is not ROME, MEMIT or AlphaEdit")
    if alg != method.lower() and not (alg == "memit" and method.lower() == "alphaedit"):
        raise ConfigError(f"{source}: these are {data['alg_name']} hparams, not {method} hparams")
    out: dict[str, Any] = {}
    templates: list[tuple[str, str]] = []
    for key, value in data.items():
        if key in _EASYEDIT_SAME:
            out[key] = value
        elif key in _EASYEDIT_RENAMED:
            out[_EASYEDIT_RENAMED[key]] = value
        elif key in _EASYEDIT_TEMPLATES:
            templates.append((key, str(value)))
        elif key == "mom2_dataset":
            out["stats_corpus"] = _MOM2_DATASETS.get(str(value), str(value))
        elif key in _EASYEDIT_IGNORED:
            log.debug("%s: EasyEdit field %r ignored", source, key)
        else:
            out[key] = value  # a biaskit field, or an unknown key that from_mapping names
    if templates:
        out["module_templates"] = tuple(templates)
    if method.lower() == "rome":
        out.pop("mom2_update_weight", None)  # some EasyEdit ROME files carry it unused
    return out


def check_templates(model: Any, config: EditConfig) -> None:
    """Refuse hparams whose module templates do not match `model`'s architecture.

    Each EasyEdit template is compared with the path biaskit's adapter gives for the
    same site (`model.layers.{}.mlp.down_proj` for Llama's rewrite module, for instance);
    `ln_f_module` and `lm_head_module` must name modules that exist.

    Raises:
        ConfigError: A template names a different module, with both paths in the message.
    """
    sites = {"rewrite_module_tmp": "mlp_key", "layer_module_tmp": "resid",
             "mlp_module_tmp": "mlp_out", "attn_module_tmp": "attn_out"}
    for field, template in config.module_templates:
        if field in sites:
            expected = model.module_path(sites[field])
            if template != expected:
                raise ConfigError(
                    f"hparams were written for another architecture: {field} is {template!r} but "
                    f"this {model.model_type} model's is {expected!r}")
        else:
            try:
                model.hf.get_submodule(template)
            except AttributeError:
                raise ConfigError(
                    f"hparams were written for another architecture: {field} {template!r} does "
                    f"not exist in this {model.model_type} model") from None


def resolve_config(method: str, config: Any = None, **overrides: Any) -> EditConfig:
    """`config` as `method`'s dataclass: None (defaults), a config, a mapping or a file path."""
    if isinstance(config, config_class(method)) and not overrides:
        return config
    return load_hparams(method, config, **overrides)


def default_layers(method: str, n_layers: int) -> tuple[int, ...]:
    """Depth-relative default layers, close to the papers' choices for 28-48-layer models.

    ROME: layer n/5 (GPT-J: 5 of 28; Llama-7B: 6 of 32). MEMIT/AlphaEdit: n/6 layers from
    n/8 (Llama-7B: 4-8; GPT-J: 3-6). A 4-layer model gets layer 0: run `biaskit locate`.
    """
    if method == "rome":
        return (n_layers // 5,)
    start, span = n_layers // 8, max(1, n_layers // 6)
    return tuple(range(start, min(n_layers, start + span)))


def with_layers(config: EditConfig, method: str, model: Any) -> EditConfig:
    """`config` with its layers checked against `model` (defaults filled in), ascending."""
    layers = config.layers or default_layers(method, model.n_layers)
    checked = tuple(sorted({model.layer_index(int(x)) for x in layers}))
    if method == "rome" and len(checked) != 1:
        raise ConfigError(f"ROME edits exactly one layer, got layers {list(layers)}; "
                          "use MEMIT or AlphaEdit for several")
    last = model.n_layers - 1
    if config.v_loss_layer not in (-1, last):
        raise ConfigError(f"v_loss_layer {config.v_loss_layer} is not supported: the loss is read "
                          f"at the last layer ({last}, or -1)")
    return replace(config, layers=checked)
