"""`load_model`: the lab, a hub id, or a local directory, to a `Model`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from biaskit.errors import ModelError
from biaskit.models.adapter import get_adapter
from biaskit.models.model import Model, ensure_pad_token

log = logging.getLogger(__name__)

LAB_SPECS = ("lab", "lab-tiny")

_DTYPES = {
    "float32": torch.float32, "fp32": torch.float32,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """`auto` is cuda when present, else mps on Apple silicon, else cpu."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ModelError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """`auto` is float32 on CPU (half precision is slow there) and bfloat16 on GPU."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    try:
        return _DTYPES[str(dtype)]
    except KeyError:
        raise ModelError(f"unknown dtype {dtype!r}; use auto, {', '.join(_DTYPES)}") from None


def load_model(
    spec: str | Path = "lab",
    *,
    dtype: str | torch.dtype | None = "auto",
    device: str | torch.device = "auto",
    device_map: str | dict[str, Any] | None = None,
    load_in_4bit: bool = False,
    trust_remote_code: bool = False,
    revision: str | None = None,
    adapter: str | Path | None = None,
) -> Model:
    """Load a model and pick its architecture adapter.

    Args:
        spec: `lab` or `lab-tiny` (built and cached on first use), a local directory
            with a Hugging Face model, or a hub id (needs network access the first time).
        dtype: `auto`, `float32`, `float16` or `bfloat16`.
        device: `auto` (cuda if present), `cpu`, `cuda`, `cuda:1`... Ignored with `device_map`.
        device_map: Passed to `from_pretrained` to spread a large model over devices.
        load_in_4bit: Quantise to 4 bits with bitsandbytes (GPU only).
        trust_remote_code: Run model code shipped with the checkpoint. Off unless a recipe
            or the caller says so, because it executes code from the model's author.
        revision: Hub revision (branch, tag or commit) for reproducibility.
        adapter: A peft LoRA folder whose merged delta is added to the weights after
            loading (see `biaskit.models.variants`); the model is then named
            `<spec>+<folder name>`.

    Returns:
        The loaded `Model`, in eval mode.

    Raises:
        ModelError: Unknown path or id, unsupported architecture, or bad dtype/device.
    """
    import transformers

    name = str(spec)
    source = _resolve_source(name)
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    common: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if revision:
        common["revision"] = revision

    try:
        config = transformers.AutoConfig.from_pretrained(source, **common)
    except (OSError, ValueError) as exc:
        raise ModelError(_not_found_message(name, exc)) from exc
    arch = get_adapter(config.model_type)  # fail before downloading any weights
    if adapter is not None:
        from biaskit.models.variants import read_adapter_config

        read_adapter_config(Path(adapter).expanduser())  # a bad folder fails before loading too

    kwargs: dict[str, Any] = {"dtype": torch_dtype, **common}
    if device_map is not None:
        kwargs["device_map"] = device_map
    if load_in_4bit:
        kwargs["quantization_config"] = _four_bit_config(torch_dtype)
        kwargs.setdefault("device_map", "auto")
    auto = transformers.AutoModelForCausalLM if arch.causal else transformers.AutoModelForMaskedLM
    try:
        hf = auto.from_pretrained(source, config=config, **kwargs)
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, **common)
    except OSError as exc:
        raise ModelError(_not_found_message(name, exc)) from exc
    if "device_map" not in kwargs:
        hf.to(dev)
    hf.eval()
    ensure_pad_token(tokenizer)
    log.debug("loaded %s (%s) on %s as %s", name, config.model_type, dev, torch_dtype)
    model = Model(hf=hf, tokenizer=tokenizer, adapter=arch, name=name)
    if adapter is not None:
        from biaskit.models.variants import merge_adapter

        model = merge_adapter(model, adapter)
    return model


def _resolve_source(spec: str) -> str:
    """Map `lab`/`lab-tiny` to their cached build directory; other specs pass through."""
    if spec in LAB_SPECS:
        from biaskit.lab import lab_path

        return str(lab_path(spec))
    path = Path(spec).expanduser()
    if path.exists() and not path.is_dir():
        raise ModelError(f"model path {spec!r} is a file; give the directory that holds config.json")
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelError(f"{spec!r} has no config.json: not a Hugging Face model directory")
        return str(path)
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ModelError(f"model directory {spec!r} does not exist")
    return spec


def _not_found_message(spec: str, exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"cannot load model {spec!r}: not a local model directory, and not loadable from "
            f"the Hugging Face hub ({first})")


def _four_bit_config(compute_dtype: torch.dtype) -> Any:
    if not torch.cuda.is_available():
        raise ModelError("load_in_4bit needs a CUDA GPU and bitsandbytes; none found")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ModelError("load_in_4bit needs bitsandbytes: pip install bitsandbytes") from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=compute_dtype,
                              bnb_4bit_quant_type="nf4")
