"""GPT-NeoX / Pythia: blocks at `layers`, MLP output projection `dense_4h_to_h`."""

from biaskit.models.adapter import ArchAdapter, register_adapter

GPT_NEOX = register_adapter(ArchAdapter(
    family="gpt_neox",
    model_types=("gpt_neox",),
    layers="layers",
    attn="attention",
    mlp="mlp",
    mlp_out_proj="mlp.dense_4h_to_h",
    notes="Pythia models use a parallel residual (use_parallel_residual=True).",
))
