"""Phi-3: fused `qkv_proj` and `gate_up_proj`; the output projection is `down_proj`."""

from biaskit.models.adapter import ArchAdapter, register_adapter

PHI3 = register_adapter(ArchAdapter(
    family="phi3",
    model_types=("phi3",),
    layers="layers",
    attn="self_attn",
    mlp="mlp",
    mlp_out_proj="mlp.down_proj",
))
