"""Architecture adapters: the one place that knows where things live inside a model.

An adapter is a small frozen record of module paths for one architecture family,
registered under every `model_type` it covers. Everything else in biaskit (capture,
tracing, editors) asks the adapter for a *site* (`resid`, `attn_out`, `mlp_out`,
`mlp_key`) at a layer instead of guessing module names; choosing a model by a substring
of its name is exactly the fragility this avoids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from biaskit.errors import LayerError, UnsupportedArchitectureError
from biaskit.registry import Registry

SITES: tuple[str, ...] = ("resid", "attn_out", "mlp_out", "mlp_key")
"""Standard sites: block output, attention output, MLP output, and the input of the MLP's
output projection (the key space of ROME/MEMIT)."""

HookKind = Literal["output", "input"]

ARCHITECTURES: Registry[ArchAdapter] = Registry("architecture")


@dataclass(frozen=True)
class ArchAdapter:
    """Module paths for one architecture family.

    Paths are relative: `layers` to the bare transformer (`model.base_model`), the others
    to one block, so the same adapter serves `LlamaModel` and `LlamaForCausalLM` alike.

    Attributes:
        family: Human name of the family ("llama-like").
        model_types: The `config.model_type` values it serves.
        layers: Path of the `ModuleList` of blocks, relative to the base model.
        attn: Path of the attention module whose output is `attn_out`.
        mlp: Path of the module whose output is `mlp_out`.
        mlp_out_proj: Path of the MLP's output projection: its input is `mlp_key` and its
            weight is the matrix that ROME/MEMIT rewrite.
        conv1d: True when that weight is a GPT-2 `Conv1D`, stored as [in, out] (transposed
            relative to `nn.Linear`'s [out, in]).
        causal: False for encoders (BERT), which biaskit supports for probing only.
        notes: Anything a user should know about the sites of this family.
    """

    family: str
    model_types: tuple[str, ...]
    layers: str
    attn: str
    mlp: str
    mlp_out_proj: str
    conv1d: bool = False
    causal: bool = True
    notes: str = ""

    # -- resolution ---------------------------------------------------------------
    def blocks(self, hf_model: nn.Module) -> nn.ModuleList:
        """The model's list of transformer blocks."""
        return _base(hf_model).get_submodule(self.layers)

    def n_layers(self, hf_model: nn.Module) -> int:
        """Number of transformer blocks."""
        return len(self.blocks(hf_model))

    def check_layer(self, hf_model: nn.Module, layer: int) -> int:
        """Return `layer` as a non-negative index, or raise `LayerError` if out of range."""
        n = self.n_layers(hf_model)
        if not -n <= layer < n:
            raise LayerError(f"layer {layer} is out of range: the model has {n} layers (0-{n - 1})")
        return layer % n

    def site_relpath(self, site: str) -> tuple[str, HookKind]:
        """Path of the module holding `site`, relative to a block, and what to hook."""
        if site == "resid":
            return "", "output"
        if site == "attn_out":
            return self.attn, "output"
        if site == "mlp_out":
            return self.mlp, "output"
        if site == "mlp_key":
            return self.mlp_out_proj, "input"
        raise LayerError(f"unknown site {site!r}; sites are: {', '.join(SITES)}")

    def site_module(self, hf_model: nn.Module, site: str, layer: int) -> tuple[nn.Module, HookKind]:
        """The module to hook for `site` at `layer`, and whether to read its input or output."""
        layer = self.check_layer(hf_model, layer)
        rel, kind = self.site_relpath(site)
        block = self.blocks(hf_model)[layer]
        return (block.get_submodule(rel) if rel else block), kind

    def module_path(self, hf_model: nn.Module, site: str, layer: int | str = "{}") -> str:
        """Full dotted path of a site's module in `hf_model` (`{}` for the layer by default).

        The `{}` form matches EasyEdit's `rewrite_module_tmp` templates.
        """
        rel, _ = self.site_relpath(site)
        parts = [_prefix(hf_model), self.layers, str(layer), rel]
        return ".".join(p for p in parts if p)

    def rewrite_module(self, hf_model: nn.Module, layer: int) -> nn.Module:
        """The MLP output projection an editor rewrites at `layer`."""
        layer = self.check_layer(hf_model, layer)
        return self.blocks(hf_model)[layer].get_submodule(self.mlp_out_proj)

    def rewrite_path(self, hf_model: nn.Module, layer: int | str = "{}") -> str:
        """Dotted path of the rewritten projection (`{}` for the layer by default)."""
        return self.module_path(hf_model, "mlp_key", layer)


def _base(hf_model: nn.Module) -> nn.Module:
    """The bare transformer under an LM head (or the model itself if it is bare)."""
    return getattr(hf_model, "base_model", hf_model)


def _prefix(hf_model: nn.Module) -> str:
    base = _base(hf_model)
    return "" if base is hf_model else getattr(hf_model, "base_model_prefix", "")


def register_adapter(adapter: ArchAdapter) -> ArchAdapter:
    """Register `adapter` under each of its model types (duplicates are refused)."""
    for model_type in adapter.model_types:
        ARCHITECTURES.register(model_type, adapter)
    return adapter


def supported_model_types() -> list[str]:
    """Every `model_type` biaskit has an adapter for."""
    _load_families()
    return ARCHITECTURES.names()


def get_adapter(model_type: str) -> ArchAdapter:
    """The adapter for `model_type`, or a clear error listing the supported ones."""
    _load_families()
    if model_type not in ARCHITECTURES:
        raise UnsupportedArchitectureError(
            f"model_type {model_type!r} is not supported; supported: "
            + ", ".join(ARCHITECTURES.names())
        )
    return ARCHITECTURES.get(model_type)


def _load_families() -> None:
    """Import the family modules so that they register themselves (idempotent)."""
    from biaskit.models import families  # noqa: F401
