"""`Model`: a Hugging Face model, its tokenizer and its architecture adapter, together."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from biaskit.models.adapter import ArchAdapter, HookKind, get_adapter


@dataclass(frozen=True)
class Model:
    """A loaded model ready for capture, tracing and editing.

    Attributes:
        hf: The transformers model (a `*ForCausalLM`, or a `*ForMaskedLM` for BERT).
        tokenizer: Its tokenizer; always has a pad token (set to EOS when missing).
        adapter: Where the sites live in this architecture.
        name: The spec it was loaded from (`lab`, a hub id or a path), for reports.
    """

    hf: nn.Module
    tokenizer: Any
    adapter: ArchAdapter
    name: str = "model"

    @classmethod
    def from_hf(cls, hf: nn.Module, tokenizer: Any, name: str | None = None) -> Model:
        """Wrap an already-built transformers model (its `model_type` picks the adapter)."""
        adapter = get_adapter(hf.config.model_type)
        ensure_pad_token(tokenizer)
        return cls(hf=hf, tokenizer=tokenizer, adapter=adapter,
                   name=name or getattr(hf.config, "_name_or_path", "") or hf.config.model_type)

    # -- shape ------------------------------------------------------------------
    @property
    def config(self) -> Any:
        """The transformers config."""
        return self.hf.config

    @property
    def model_type(self) -> str:
        """`config.model_type` (which picked the adapter)."""
        return self.hf.config.model_type

    @property
    def n_layers(self) -> int:
        """Number of transformer blocks."""
        return self.adapter.n_layers(self.hf)

    @property
    def hidden_size(self) -> int:
        """Width of the residual stream."""
        return int(self.hf.config.get_text_config().hidden_size)

    @property
    def device(self) -> torch.device:
        """Device of the input embeddings (where inputs must go)."""
        return self.hf.get_input_embeddings().weight.device

    @property
    def dtype(self) -> torch.dtype:
        """Parameter dtype of the input embeddings."""
        return self.hf.get_input_embeddings().weight.dtype

    @property
    def n_params(self) -> int:
        """Total number of parameters."""
        return sum(p.numel() for p in self.hf.parameters())

    @property
    def base(self) -> nn.Module:
        """The bare transformer, without the LM head (cheaper when only internals matter)."""
        return getattr(self.hf, "base_model", self.hf)

    # -- sites ------------------------------------------------------------------
    def layer_index(self, layer: int) -> int:
        """Normalise `layer` (negative counts from the end); raise if out of range."""
        return self.adapter.check_layer(self.hf, layer)

    def resolve_layers(self, layers: str | int | list[int] | tuple[int, ...] | range) -> list[int]:
        """Turn `"all"`, an int, or a list of ints into sorted, checked layer indices."""
        if isinstance(layers, str):
            if layers != "all":
                return self.resolve_layers(parse_layers(layers))
            return list(range(self.n_layers))
        if isinstance(layers, int):
            layers = [layers]
        return sorted({self.layer_index(int(i)) for i in layers})

    def site_module(self, site: str, layer: int) -> tuple[nn.Module, HookKind]:
        """Module to hook for `site` at `layer`, and whether its input or output is the site."""
        return self.adapter.site_module(self.hf, site, layer)

    def module_path(self, site: str, layer: int | str = "{}") -> str:
        """Full dotted module path of `site` (layer `{}` by default)."""
        return self.adapter.module_path(self.hf, site, layer)

    def rewrite_module(self, layer: int) -> nn.Module:
        """The projection an editor rewrites at `layer`."""
        return self.adapter.rewrite_module(self.hf, layer)

    def site_width(self, site: str) -> int:
        """Width of one site's vectors: d_model, or d_ff for `mlp_key`."""
        if site != "mlp_key":
            return self.hidden_size
        weight = self.rewrite_module(0).weight
        return int(weight.shape[0] if self.adapter.conv1d else weight.shape[1])

    def fingerprint(self) -> str:
        """A short hash identifying these exact weights (for caches and saved edits).

        It hashes every tensor's name, shape and dtype and a strided sample of its values
        plus their sum, so it is cheap on a 70B model yet changes after any real edit.
        Computed on demand, never cached: weights change when edits are applied.
        """
        digest = hashlib.sha256(self.model_type.encode())
        with torch.no_grad():
            for name, tensor in sorted(self.hf.state_dict().items()):
                flat = tensor.detach().reshape(-1)
                step = max(1, flat.numel() // 4096)
                sample = flat[::step].float().cpu()
                digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
                digest.update(sample.numpy().tobytes())
                digest.update(repr(float(flat.float().sum())).encode())
        return digest.hexdigest()[:16]

    def nnsight(self) -> Any:
        """This model wrapped for nnsight (sharing the same weights, no copy).

        For interactive interventions on internals (`with lm.trace(...)`); biaskit's own
        capture uses plain hooks, which are faster for read-only collection. nnsight 0.8
        names the wrapper `TransformersModel` (`LanguageModel` before it).
        """
        try:
            from nnsight import TransformersModel as Wrapper
        except ImportError:  # nnsight < 0.8
            from nnsight import LanguageModel as Wrapper
        return Wrapper(self.hf, tokenizer=self.tokenizer)


def ensure_pad_token(tokenizer: Any) -> None:
    """Give a tokenizer without a pad token its EOS as pad, so batches can be padded."""
    if getattr(tokenizer, "pad_token_id", None) is None:
        eos = getattr(tokenizer, "eos_token", None)
        if eos is not None:
            tokenizer.pad_token = eos


def parse_layers(text: str) -> list[int]:
    """Parse `"3"`, `"1,2,5"` or `"2-6"` (inclusive) into a list of layer indices."""
    from biaskit.errors import LayerError

    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else part[1:].split("-", 1)
                out.extend(range(int(lo), int(hi) + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise LayerError(f"cannot read layers {text!r}: use 'all', '3', '1,2,5' or '2-6'") from None
    if not out:
        raise LayerError(f"no layers in {text!r}")
    return out
