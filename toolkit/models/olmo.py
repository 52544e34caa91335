"""OLMo and OLMo 2 (the latter normalises after attention/MLP instead of before)."""

from biaskit.models.adapter import ArchAdapter, register_adapter

OLMO = register_adapter(ArchAdapter(
    family="olmo",
    model_types=("olmo", "olmo2"),
    layers="layers",
    attn="self_attn",
    mlp="mlp",
    mlp_out_proj="mlp.down_proj",
    notes="OLMo 2 applies post_attention/post_feedforward norms to attn_out/mlp_out "
          "before the residual add.",
))
