"""GPT-2: blocks at `h`; the MLP projections are `Conv1D`, whose weight is [in, out]."""

from biaskit.models.adapter import ArchAdapter, register_adapter

GPT2 = register_adapter(ArchAdapter(
    family="gpt2",
    model_types=("gpt2",),
    layers="h",
    attn="attn",
    mlp="mlp",
    mlp_out_proj="mlp.c_proj",
    conv1d=True,
    notes="mlp.c_proj is a Conv1D: its weight is stored transposed ([d_ff, d_model]).",
))
