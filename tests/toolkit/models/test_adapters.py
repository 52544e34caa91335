import pytest
import torch

from biaskit.activations import capture
from biaskit.errors import LayerError, UnsupportedArchitectureError
from biaskit.models import SITES, get_adapter, supported_model_types
from biaskit.models.tiny import TINY_MODEL_TYPES, tiny_model

EXPECTED_REWRITE = {
    "gpt2": "transformer.h.{}.mlp.c_proj",
    "gptj": "transformer.h.{}.mlp.fc_out",
    "gpt_neox": "gpt_neox.layers.{}.mlp.dense_4h_to_h",
    "llama": "model.layers.{}.mlp.down_proj",
    "mistral": "model.layers.{}.mlp.down_proj",
    "qwen2": "model.layers.{}.mlp.down_proj",
    "qwen3": "model.layers.{}.mlp.down_proj",
    "gemma": "model.layers.{}.mlp.down_proj",
    "gemma2": "model.layers.{}.mlp.down_proj",
    "phi3": "model.layers.{}.mlp.down_proj",
    "olmo": "model.layers.{}.mlp.down_proj",
    "olmo2": "model.layers.{}.mlp.down_proj",
    "bert": "bert.encoder.layer.{}.output.dense",
}


def test_every_family_registered():
    assert set(supported_model_types()) == set(TINY_MODEL_TYPES)


def test_unsupported_model_type_lists_supported():
    with pytest.raises(UnsupportedArchitectureError, match="supported: .*gpt2.*llama"):
        get_adapter("mamba")


@pytest.fixture(scope="module", params=TINY_MODEL_TYPES)
def model(request):
    return tiny_model(request.param)


def test_paths_resolve_to_real_modules(model):
    assert model.adapter.rewrite_path(model.hf) == EXPECTED_REWRITE[model.model_type]
    named = dict(model.hf.named_modules())
    for site in SITES:
        for layer in range(model.n_layers):
            module, _ = model.site_module(site, layer)
            assert named[model.module_path(site, layer)] is module


def test_rewrite_weight_layout(model):
    weight = model.rewrite_module(1).weight
    d_ff = model.site_width("mlp_key")
    expected = (d_ff, model.hidden_size) if model.adapter.conv1d else (model.hidden_size, d_ff)
    assert tuple(weight.shape) == expected
    assert model.adapter.conv1d == (model.model_type == "gpt2")


def test_capture_all_layers_and_sites_matches_hidden_states(model):
    texts = ["The nurse said that", "Hola mundo", "Le médecin est arrivé"]
    acts = capture(model, texts, sites=SITES, dtype=torch.float32, progress=False)
    n, L = len(texts), model.n_layers
    for site in SITES:
        assert acts.tensor(site).shape == (n, L, model.site_width(site))
    # resid at layer i is the block output; HF's hidden_states[i + 1] (except the last,
    # which some models normalise) must agree, text by text, at the last token.
    for i, text in enumerate(texts):
        enc = model.tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            hs = model.base(**enc, output_hidden_states=True).hidden_states
        last = enc["attention_mask"].sum() - 1
        if model.model_type == "bert":
            last = last - 1  # [SEP] is not a text token
        for layer in range(L - 1):
            torch.testing.assert_close(acts.tensor("resid")[i, layer], hs[layer + 1][0, last],
                                       atol=1e-5, rtol=1e-5)


def test_mlp_key_is_input_of_rewritten_matrix(model):
    """mlp_out must equal the projection applied to mlp_key (the ROME key-value view)."""
    acts = capture(model, ["one two three"], sites=("mlp_key", "mlp_out"), dtype=torch.float32,
                   progress=False, layers=[1])
    proj = model.rewrite_module(1)
    with torch.no_grad():
        out = proj(acts.tensor("mlp_key")[:, 0])
    torch.testing.assert_close(out, acts.tensor("mlp_out")[:, 0], atol=1e-5, rtol=1e-5)


def test_layer_out_of_range(model):
    with pytest.raises(LayerError, match="out of range"):
        model.layer_index(model.n_layers)
    with pytest.raises(LayerError):
        capture(model, ["x"], layers=[99], progress=False)
