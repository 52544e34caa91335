"""Tiny random-weight models of every supported family, built in code, offline.

Tests and benchmarks need each architecture without downloading anything; a random
model with the real module layout exercises every code path that a pretrained one does.
The tokenizer is byte-level with no merges, so any text encodes and every word spans
several tokens.
"""

from __future__ import annotations

from typing import Any

import torch

from biaskit.models.model import Model

# Small but non-trivial sizes: 4 layers so there is a "middle", GQA where the family has it.
_COMMON = {"num_hidden_layers": 4, "hidden_size": 64, "num_attention_heads": 4,
           "intermediate_size": 128, "max_position_embeddings": 128}


def tiny_config(model_type: str, **overrides: Any) -> Any:
    """A small transformers config of `model_type` (4 layers, width 64) with `overrides`."""
    import transformers as tf

    vocab = {"vocab_size": 300, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
    gqa = {"num_key_value_heads": 2}
    builders: dict[str, Any] = {
        "gpt2": lambda: tf.GPT2Config(n_layer=4, n_embd=64, n_head=4, n_positions=128, **vocab),
        "gptj": lambda: tf.GPTJConfig(n_layer=4, n_embd=64, n_head=4, n_positions=128,
                                      rotary_dim=8, **vocab),
        "gpt_neox": lambda: tf.GPTNeoXConfig(**_COMMON, **vocab),
        "llama": lambda: tf.LlamaConfig(**_COMMON, **gqa, **vocab),
        "mistral": lambda: tf.MistralConfig(**_COMMON, **gqa, **vocab),
        "qwen2": lambda: tf.Qwen2Config(**_COMMON, **gqa, **vocab),
        "qwen3": lambda: tf.Qwen3Config(**_COMMON, **gqa, head_dim=16, **vocab),
        "gemma": lambda: tf.GemmaConfig(**_COMMON, **gqa, head_dim=16, **vocab),
        "gemma2": lambda: tf.Gemma2Config(**_COMMON, **gqa, head_dim=16, **vocab),
        "phi3": lambda: tf.Phi3Config(**_COMMON, **vocab),
        "olmo": lambda: tf.OlmoConfig(**_COMMON, **vocab),
        "olmo2": lambda: tf.Olmo2Config(**_COMMON, **vocab),
        "bert": lambda: tf.BertConfig(**_COMMON, vocab_size=300, pad_token_id=0),
    }
    if model_type not in builders:
        raise KeyError(f"no tiny config for {model_type!r}; have: {', '.join(sorted(builders))}")
    config = builders[model_type]()
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


TINY_MODEL_TYPES: tuple[str, ...] = (
    "gpt2", "gptj", "gpt_neox", "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2",
    "phi3", "olmo", "olmo2", "bert",
)


def byte_tokenizer(*, padding_side: str = "right", bert_style: bool = False) -> Any:
    """A byte-level `PreTrainedTokenizerFast` with no merges (ids < 260), built offline.

    Args:
        padding_side: Which side batches are padded on.
        bert_style: Add `[CLS] ... [SEP]` around each text as BERT tokenizers do.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<bos>", "<eos>", "<unk>"]
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(specials + sorted(alphabet))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    if bert_style:
        tok.post_processor = processors.TemplateProcessing(
            single="<bos> $A <eos>", special_tokens=[("<bos>", 1), ("<eos>", 2)])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=True)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>",
        unk_token="<unk>", padding_side=padding_side,
    )


def tiny_model(model_type: str = "llama", *, seed: int = 0, dtype: torch.dtype = torch.float32,
               **overrides: Any) -> Model:
    """A random-weight `Model` of `model_type`, deterministic for `seed`, in eval mode."""
    import transformers as tf

    config = tiny_config(model_type, **overrides)
    torch.manual_seed(seed)
    auto = tf.AutoModelForMaskedLM if model_type == "bert" else tf.AutoModelForCausalLM
    hf = auto.from_config(config, dtype=dtype).eval()
    return Model.from_hf(hf, byte_tokenizer(bert_style=model_type == "bert"),
                         name=f"tiny-{model_type}")
