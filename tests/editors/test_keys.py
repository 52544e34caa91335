"""Keys at the subject's last token: batched reads against capture(), slots, layouts, scratch edits."""

import pytest
import torch

from biaskit.activations import capture
from biaskit.editors.keys import (
    add_to_weight,
    bias,
    compute_keys,
    lookups,
    param_name,
    read_sites,
    scratch_weights,
    to_param_layout,
    weight,
)
from biaskit.errors import DataError
from biaskit.models.tiny import tiny_model

PROMPTS = ["The capital of {} is", "{} plays", "In the year 1900, {} was known for"]
SUBJECTS = ["Chile", "Ana Vega", "the old city"]
PREFIXES = ["", "It rained all day. ", "Then we went home and slept. "]


@pytest.mark.parametrize("model_type", ["llama", "gpt2"])
def test_keys_match_capture_at_subject_last(model_type):
    model = tiny_model(model_type)
    keys = compute_keys(model, PROMPTS, SUBJECTS, PREFIXES, [1, 3], batch_size=4)
    texts = [p + t.replace("{}", s) for t, s in zip(PROMPTS, SUBJECTS, strict=True) for p in PREFIXES]
    subjects = [s for s in SUBJECTS for _ in PREFIXES]
    ref = capture(model, texts, layers=[1, 3], sites=["mlp_key"], positions="subject_last",
                  subject=subjects, dtype=torch.float32, progress=False)
    for slot, layer in enumerate([1, 3]):
        want = ref.tensor("mlp_key")[:, slot].view(len(PROMPTS), len(PREFIXES), -1).mean(1)
        assert keys[layer].shape == (len(PROMPTS), model.site_width("mlp_key"))
        torch.testing.assert_close(keys[layer], want, rtol=1e-4, atol=1e-5)


def test_batch_size_does_not_change_reads():
    model = tiny_model("qwen2")
    items = lookups(model, PROMPTS, SUBJECTS, PREFIXES)
    one = read_sites(model, items, [0, 2], "resid", batch_size=1)
    many = read_sites(model, items, [0, 2], "resid", batch_size=9)
    for layer in (0, 2):
        torch.testing.assert_close(one[layer], many[layer], rtol=1e-5, atol=1e-6)


def test_subject_is_found_at_its_slot_not_in_the_prefix():
    model = tiny_model("llama")
    prefix = "Chile is long. "
    (item,) = lookups(model, ["The capital of {} is"], ["Chile"], [prefix])
    tok = model.tokenizer
    # byte tokenizer: one token per character; the slot's "e" of Chile, not the prefix's.
    assert item.text == "Chile is long. The capital of Chile is"
    assert item.position == len(tok(prefix + "The capital of Chile")["input_ids"]) - 1
    (last,) = lookups(model, ["The capital of {} is"], ["Chile"], fact_token="last")
    assert last.position == len(last.ids) - 1
    with pytest.raises(DataError, match="subject"):
        lookups(model, ["The capital of {} is"], [""], [""])


def test_the_other_fact_tokens_of_romes_code():
    model = tiny_model("llama")
    tok = model.tokenizer
    prefix = "Chile is long. "
    at = {ft: lookups(model, ["The capital of {} is"], ["Chile"], [prefix], fact_token=ft)[0].position
          for ft in ("subject_first", "subject_last", "subject_first_after_last")}
    # byte tokenizer: one token per character.
    assert at["subject_first"] == len(tok(prefix + "The capital of C")["input_ids"]) - 1
    assert at["subject_last"] == at["subject_first"] + len("Chile") - 1
    assert at["subject_first_after_last"] == at["subject_last"] + 1
    with pytest.raises(DataError, match="nothing follows the subject"):
        lookups(model, ["The capital of {}"], ["Chile"], fact_token="subject_first_after_last")
    with pytest.raises(DataError, match="fact_token must be one of"):
        lookups(model, ["The capital of {} is"], ["Chile"], fact_token="subject_middle")


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_weight_layout_and_add(model_type):
    model = tiny_model(model_type)
    layer = 1
    module = model.rewrite_module(layer)
    k = torch.randn(5, model.site_width("mlp_key"))
    w, b = weight(model, layer), bias(model, layer)
    with torch.no_grad():
        torch.testing.assert_close(module(k), k @ w.T + (0 if b is None else b), rtol=1e-5, atol=1e-5)
    assert param_name(model, layer) in dict(model.hf.named_parameters())
    delta = torch.randn_like(w) * 0.01
    assert to_param_layout(model, delta).shape == module.weight.shape
    before = module.weight.detach().clone()
    with scratch_weights(model, [layer]):
        add_to_weight(model, layer, delta)
        torch.testing.assert_close(weight(model, layer), w + delta)
    assert torch.equal(module.weight, before)


def test_scratch_weights_restore_exactly_after_an_error():
    model = tiny_model("gpt_neox")
    before = {n: p.detach().clone() for n, p in model.hf.named_parameters()}
    with pytest.raises(RuntimeError), scratch_weights(model, [0, 2]):
        add_to_weight(model, 0, torch.ones_like(weight(model, 0)))
        add_to_weight(model, 2, torch.ones_like(weight(model, 2)))
        raise RuntimeError("boom")
    for name, p in model.hf.named_parameters():
        assert torch.equal(p, before[name]), name


def test_config_accepts_exactly_the_fact_tokens_lookups_read():
    import typing

    from biaskit.editors.config import EditConfig
    from biaskit.editors.keys import FACT_TOKENS

    hints = typing.get_type_hints(EditConfig)
    assert set(typing.get_args(hints["fact_token"])) == set(FACT_TOKENS)
