"""Llama-like decoders (Llama, Mistral, Qwen2/3, Gemma/Gemma2), the lab's architecture too.

They share one layout: gated MLP whose output projection `down_proj` reads the key.
"""

from biaskit.models.adapter import ArchAdapter, register_adapter

LLAMA = register_adapter(ArchAdapter(
    family="llama-like",
    model_types=("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2"),
    layers="layers",
    attn="self_attn",
    mlp="mlp",
    mlp_out_proj="mlp.down_proj",
    notes="Gemma2 normalises attention and MLP outputs again before the residual add; "
          "attn_out/mlp_out are the module outputs before that post-norm.",
))
