"""GPT-J: parallel attention and MLP; blocks return a tuple under transformers 5."""

from biaskit.models.adapter import ArchAdapter, register_adapter

GPTJ = register_adapter(ArchAdapter(
    family="gptj",
    model_types=("gptj",),
    layers="h",
    attn="attn",
    mlp="mlp",
    mlp_out_proj="mlp.fc_out",
    notes="Attention and MLP read the same normalised input (parallel residual).",
))
