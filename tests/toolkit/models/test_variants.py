"""Model variants: LoRA deltas equal peft's own merge, exact restore, parsing, --adapter."""

import copy
import json

import pytest
import torch

from biaskit.editors.result import param_checksums
from biaskit.errors import DataError, ModelError
from biaskit.models.tiny import tiny_model
from biaskit.models.variants import (
    Variant,
    apply_variant,
    lora_deltas,
    merge_adapter,
    parse_variants,
    resolve_variants,
)

IDS = torch.tensor([[5, 17, 99, 3, 250, 42, 7, 8]])


def _save_random_adapter(model, folder, **kwargs):
    """A peft adapter with random (non-zero) B, saved as peft saves it; returns peft's merged logits."""
    from peft import LoraConfig, get_peft_model

    hf = copy.deepcopy(model.hf)
    torch.manual_seed(3)
    peft_model = get_peft_model(hf, LoraConfig(init_lora_weights=False, **kwargs))
    peft_model.save_pretrained(folder)
    merged = peft_model.merge_and_unload()
    with torch.no_grad():
        return merged(IDS).logits


@pytest.mark.parametrize("model_type, kwargs", [
    ("llama", {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj", "down_proj"]}),
    ("llama", {"r": 4, "lora_alpha": 8, "use_rslora": True, "target_modules": ["o_proj", "up_proj"]}),
    ("llama", {"r": 2, "lora_alpha": 3, "target_modules": ["gate_proj", "k_proj"],
               "rank_pattern": {"k_proj": 5}, "alpha_pattern": {"gate_proj": 7}}),
    ("llama", {"r": 2, "lora_alpha": 4, "target_modules": ["embed_tokens"]}),
    ("gpt2", {"r": 3, "lora_alpha": 6, "target_modules": ["c_attn", "c_proj", "c_fc"],
              "fan_in_fan_out": True}),
    ("gpt_neox", {"r": 2, "lora_alpha": 2, "target_modules": ["query_key_value", "dense_4h_to_h"]}),
])
def test_merged_lora_matches_peft_merge_and_unload(tmp_path, model_type, kwargs):
    """Same logits as peft's merge: catches a wrong scale (alpha/r vs rsLoRA), layout or pattern."""
    model = tiny_model(model_type, seed=1)
    expected = _save_random_adapter(model, tmp_path / "a", **kwargs)
    before = param_checksums(model)
    with torch.no_grad():
        base_logits = model.hf(IDS).logits
    with apply_variant(model, Variant("a", str(tmp_path / "a"), "adapter")) as m:
        with torch.no_grad():
            got = m.hf(IDS).logits
    assert (expected - base_logits).abs().max() > 1e-3  # the adapter does change the output
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert param_checksums(model) == before  # exact restore, every bit


def test_scale_is_alpha_over_r_and_rslora_over_sqrt_r(tmp_path):
    model = tiny_model("llama", seed=0)
    for rs, scale in ((False, 8 / 4), (True, 8 / 2)):
        folder = tmp_path / f"rs{rs}"
        _save_random_adapter(model, folder, r=4, lora_alpha=8, use_rslora=rs, target_modules=["q_proj"])
        from safetensors.torch import load_file

        t = load_file(str(folder / "adapter_model.safetensors"))
        key = "base_model.model.model.layers.0.self_attn.q_proj"
        by_hand = t[f"{key}.lora_B.weight"] @ t[f"{key}.lora_A.weight"] * scale
        got = lora_deltas(model, folder)["model.layers.0.self_attn.q_proj.weight"]
        torch.testing.assert_close(got, by_hand)


def test_restore_on_error_and_edit_variants(tmp_path):
    from biaskit.editors.result import apply_deltas

    model = tiny_model("llama", seed=2)
    before = param_checksums(model)
    _save_random_adapter(model, tmp_path / "a", r=2, target_modules=["q_proj"])
    with pytest.raises(RuntimeError, match="boom"), apply_variant(model, str(tmp_path / "a")):
        assert param_checksums(model) != before
        raise RuntimeError("boom")
    assert param_checksums(model) == before
    name = "model.layers.1.mlp.down_proj.weight"
    edit = apply_deltas(model, {name: torch.full((64, 128), 0.01)}, method="test")
    edit.save(tmp_path / "edit")
    edit.restore()
    [variant] = parse_variants([str(tmp_path / "edit")])
    assert variant.kind == "edit"
    with apply_variant(model, variant) as m:
        assert torch.allclose(dict(m.hf.named_parameters())[name], edit.originals[name] + 0.01)
    assert param_checksums(model) == before


def test_parse_variants_forms(tmp_path):
    model = tiny_model("llama", seed=0)
    _save_random_adapter(model, tmp_path / "g1", r=2, target_modules=["q_proj"])
    _save_random_adapter(model, tmp_path / "g2", r=2, target_modules=["q_proj"])
    got = parse_variants(["base", str(tmp_path / "g1"), {"name": "two", "path": str(tmp_path / "g2")}])
    assert [(v.name, v.kind) for v in got] == [("base", "base"), ("g1", "adapter"), ("two", "adapter")]
    adapters = {"education=high": str(tmp_path / "g1"), "education=low": "g2"}
    got = parse_variants(["base", adapters], base_dir=tmp_path)
    assert [v.name for v in got] == ["base", "education=high", "education=low"]
    assert got[2].path == str((tmp_path / "g2").resolve())
    assert parse_variants(None) == [Variant("base")]
    with pytest.raises(DataError, match="does not exist"):
        parse_variants([str(tmp_path / "nope")])
    with pytest.raises(DataError, match="two variants are named"):
        parse_variants([str(tmp_path / "g1"), {"name": "g1", "path": str(tmp_path / "g2")}])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither a peft adapter"):
        parse_variants([str(tmp_path / "empty")])


def test_resolve_variants_takes_a_finetune_step_name(tmp_path):
    model = tiny_model("llama", seed=0)
    _save_random_adapter(model, tmp_path / "run" / "ft" / "adapters" / "g1", r=2, target_modules=["q_proj"])

    class Ctx:
        run_dir = tmp_path / "run"
        recipe = {"path": str(tmp_path / "r.yaml")}

        def earlier(self, kind=None):
            return ["ft"] if kind in (None, "finetune") else []

        def outputs(self, step):
            return {"adapters": {"g1": "ft/adapters/g1"}}

    got = resolve_variants(Ctx(), ["base", "ft"])
    assert [(v.name, v.kind) for v in got] == [("base", "base"), ("g1", "adapter")]


def test_unsupported_adapters_are_refused_clearly(tmp_path):
    model = tiny_model("llama", seed=0)
    _save_random_adapter(model, tmp_path / "a", r=2, target_modules=["q_proj"])
    config = json.loads((tmp_path / "a" / "adapter_config.json").read_text())
    (tmp_path / "a" / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(ModelError, match="use_dora"):
        lora_deltas(model, tmp_path / "a")
    with pytest.raises(ModelError, match="not a peft adapter"):
        merge_adapter(model, tmp_path)
    other = tiny_model("gpt2", seed=0)
    _save_random_adapter(other, tmp_path / "g", r=2, target_modules=["c_attn"])
    with pytest.raises(ModelError, match="does not have"):
        lora_deltas(model, tmp_path / "g")


def test_load_model_and_cli_adapter(tmp_path, capsys):
    """`load_model(..., adapter=)` and `--adapter` on a command merge the same weights."""
    from biaskit.cli import main
    from biaskit.models import load_model

    model = tiny_model("llama", seed=4)
    model.hf.save_pretrained(tmp_path / "m")
    model.tokenizer.save_pretrained(tmp_path / "m")
    expected = _save_random_adapter(model, tmp_path / "a", r=2, target_modules=["v_proj", "up_proj"])
    loaded = load_model(tmp_path / "m", device="cpu", adapter=tmp_path / "a")
    assert loaded.name.endswith("+a")
    with torch.no_grad():
        torch.testing.assert_close(loaded.hf(IDS).logits, expected, atol=1e-5, rtol=1e-5)
    code = main(["evaluate", "--model", str(tmp_path / "m"), "--device", "cpu", "--adapter", str(tmp_path),
                 "--suite", "perplexity", "--out", str(tmp_path / "o")])
    assert code == 2 and "not a peft adapter" in capsys.readouterr().err
