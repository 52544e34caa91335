"""Models: loading, architecture adapters, and tiny random models for tests.

`load_model("lab")`, `load_model("Qwen/Qwen2.5-0.5B")` or `load_model("./my-model")`
returns a `Model` whose adapter knows where each standard site lives.
"""

from biaskit.models.adapter import (
    SITES,
    ArchAdapter,
    get_adapter,
    register_adapter,
    supported_model_types,
)
from biaskit.models.loading import load_model, resolve_device, resolve_dtype
from biaskit.models.model import Model, parse_layers

__all__ = [
    "SITES", "ArchAdapter", "Model", "get_adapter", "load_model", "parse_layers",
    "register_adapter", "resolve_device", "resolve_dtype", "supported_model_types",
]
