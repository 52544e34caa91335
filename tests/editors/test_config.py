"""Editor configs: defaults, strict loading, and EasyEdit hparams files (with template checks)."""

import dataclasses

import pytest

from biaskit.editors.config import (
    AlphaEditConfig,
    MemitConfig,
    RomeConfig,
    check_templates,
    default_layers,
    load_hparams,
    with_layers,
)
from biaskit.errors import ConfigError
from biaskit.models.tiny import tiny_model

EASYEDIT_ROME_GPT2 = """\
alg_name: "ROME"
model_name: "./hugging_cache/gpt2-xl"
stats_dir: "./data/stats"
device: 0
layers: [1]
fact_token: "subject_last"
v_num_grad_steps: 20
v_lr: 5e-1
v_loss_layer: 3
v_weight_decay: 0.5
clamp_norm_factor: 4
kl_factor: 0.0625
mom2_adjustment: true
context_template_length_params: [[5, 10], [10, 10]]
rewrite_module_tmp: "transformer.h.{}.mlp.c_proj"
layer_module_tmp: "transformer.h.{}"
mlp_module_tmp: "transformer.h.{}.mlp"
attn_module_tmp: "transformer.h.{}.attn"
ln_f_module: "transformer.ln_f"
lm_head_module: "transformer.wte"
mom2_dataset: "wikipedia"
mom2_n_samples: 100000
mom2_dtype: "float32"
"""

EASYEDIT_ALPHA_LLAMA = """\
alg_name: "AlphaEdit"
model_name: "./hugging_cache/llama-3-8b"
stats_dir: "./data/stats"
P_loc: "./null_space_project.pt"
device: 0
layers: [1, 2]
clamp_norm_factor: 0.75
layer_selection: "all"
fact_token: "subject_last"
v_num_grad_steps: 25
v_lr: 1e-1
v_loss_layer: 3
v_weight_decay: 0.5
kl_factor: 0.0625
mom2_adjustment: true
mom2_update_weight: 15000
rewrite_module_tmp: "model.layers.{}.mlp.down_proj"
layer_module_tmp: "model.layers.{}"
mlp_module_tmp: "model.layers.{}.mlp"
attn_module_tmp: "model.layers.{}.self_attn"
ln_f_module: "model.norm"
lm_head_module: "lm_head"
mom2_dataset: "wikipedia"
mom2_n_samples: 100000
mom2_dtype: "float32"
nullspace_threshold: 2e-2
L2: 10
"""


def test_defaults_are_the_papers():
    rome, memit, alpha = RomeConfig(), MemitConfig(), AlphaEditConfig()
    assert (rome.v_lr, rome.v_weight_decay, rome.clamp_norm_factor, rome.kl_factor) == (0.5, 0.5, 4.0, 0.0625)
    assert rome.context_template_length_params == ((5, 10), (10, 10))
    assert memit.mom2_update_weight == 15000 and memit.v_num_grad_steps == 25
    assert (alpha.nullspace_threshold, alpha.l2_weight, alpha.v_lr) == (2e-2, 10.0, 0.1)
    assert dataclasses.is_dataclass(rome) and isinstance(alpha, MemitConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rome.v_lr = 1.0


def test_default_layers_follow_depth():
    assert default_layers("rome", 28) == (5,)
    assert default_layers("memit", 32) == (4, 5, 6, 7, 8)
    assert default_layers("rome", 4) == (0,) and default_layers("memit", 4) == (0,)


def test_load_hparams_rejects_unknown_keys_naming_key_and_file(tmp_path):
    path = tmp_path / "h.yaml"
    path.write_text("layers: [1]\nv_lrr: 0.1\n")
    with pytest.raises(ConfigError, match=r"h\.yaml.*'v_lrr'.*did you mean 'v_lr'"):
        load_hparams("rome", path)
    with pytest.raises(ConfigError, match="mom2_update_weight"):
        load_hparams("rome", {"mom2_update_weight": 1.0})  # a MEMIT field
    with pytest.raises(ConfigError, match="v_num_grad_steps"):
        load_hparams("memit", {"v_num_grad_steps": "many"})
    with pytest.raises(ConfigError, match="unknown editing method"):
        load_hparams("grace", {})


def test_load_hparams_from_mapping_file_and_overrides(tmp_path):
    path = tmp_path / "h.yaml"
    path.write_text("layers: [2]\nobjective: equalize\nv_lr: 1e-1\n")
    cfg = load_hparams("memit", path, mom2_update_weight=100)
    assert isinstance(cfg, MemitConfig)
    assert (cfg.layers, cfg.objective, cfg.v_lr, cfg.mom2_update_weight) == ((2,), "equalize", 0.1, 100.0)
    short = load_hparams("rome", {"context_template_length_params": [[3, 2]]})
    assert short.context_template_length_params == ((3, 2),)
    with pytest.raises(ConfigError, match="objective"):
        load_hparams("rome", {"objective": "erase"})
    assert load_hparams("rome", {"fact_token": "subject_first"}).fact_token == "subject_first"
    with pytest.raises(ConfigError, match="fact_token"):
        load_hparams("rome", {"fact_token": "subject_middle"})


def test_easyedit_rome_file_converts_and_matches_gpt2(tmp_path):
    path = tmp_path / "gpt2-xl.yaml"
    path.write_text(EASYEDIT_ROME_GPT2)
    cfg = load_hparams("rome", path)
    assert isinstance(cfg, RomeConfig)
    assert cfg.layers == (1,) and cfg.v_lr == 0.5 and cfg.stats_dir == "./data/stats"
    assert cfg.stats_corpus.startswith("hf:") and "wikipedia" in cfg.stats_corpus
    assert dict(cfg.module_templates)["rewrite_module_tmp"] == "transformer.h.{}.mlp.c_proj"
    gpt2 = tiny_model("gpt2")
    check_templates(gpt2, cfg)  # matches: no error
    assert with_layers(cfg, "rome", gpt2).layers == (1,)  # v_loss_layer 3 is gpt2-tiny's last


def test_easyedit_alphaedit_file_converts_and_checks_llama(tmp_path):
    path = tmp_path / "llama3-8b.yaml"
    path.write_text(EASYEDIT_ALPHA_LLAMA)
    cfg = load_hparams("alphaedit", path)
    assert isinstance(cfg, AlphaEditConfig)
    assert (cfg.l2_weight, cfg.nullspace_threshold, cfg.layers) == (10.0, 0.02, (1, 2))
    check_templates(tiny_model("llama"), cfg)
    with pytest.raises(ConfigError, match="another architecture.*rewrite_module_tmp.*transformer.h"):
        check_templates(tiny_model("gpt2"), cfg)


def test_easyedit_file_for_another_algorithm_is_refused(tmp_path):
    path = tmp_path / "rome.yaml"
    path.write_text(EASYEDIT_ROME_GPT2)
    with pytest.raises(ConfigError, match="ROME hparams, not memit"):
        load_hparams("memit", path)
    path.write_text(EASYEDIT_ROME_GPT2 + "bogus_field: 1\n")
    with pytest.raises(ConfigError, match="bogus_field"):
        load_hparams("rome", path)


def test_with_layers_checks_against_the_model():
    model = tiny_model("llama")
    with pytest.raises(Exception, match="out of range"):
        with_layers(RomeConfig(layers=(9,)), "rome", model)
    with pytest.raises(ConfigError, match="exactly one layer"):
        with_layers(RomeConfig(layers=(1, 2)), "rome", model)
    with pytest.raises(ConfigError, match="v_loss_layer"):
        with_layers(RomeConfig(layers=(1,), v_loss_layer=2), "rome", model)
    assert with_layers(MemitConfig(layers=(-1, 1)), "memit", model).layers == (1, 3)
