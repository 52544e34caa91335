"""BERT-like encoders, for probing only (bidirectional: no causal tracing or edits).

BERT has no single MLP module: the feed-forward is `intermediate` then `output.dense`,
so `mlp_out` is the output of `output.dense` (before dropout, residual and LayerNorm) and
`attn_out` the output of `attention.output.dense`.
"""

from biaskit.models.adapter import ArchAdapter, register_adapter

BERT = register_adapter(ArchAdapter(
    family="bert",
    model_types=("bert",),
    layers="encoder.layer",
    attn="attention.output.dense",
    mlp="output.dense",
    mlp_out_proj="output.dense",
    causal=False,
    notes="Probing only: editors and causal tracing need a causal LM.",
))
