"""A lab-tiny build: files, loading, caching, atomicity and determinism."""

from __future__ import annotations

import hashlib
import json
import shutil
import time

import pytest

from biaskit.errors import ConfigError
from biaskit.lab import LAB_DATASETS, build_dir, build_lab, lab_path, load_lab_dataset

EXPECTED_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                  "truth.json", "metrics.json", "corpus.txt"]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_has_the_documented_layout(lab_tiny):
    for name in EXPECTED_FILES:
        assert (lab_tiny.path / name).is_file(), name
    for name in LAB_DATASETS:
        assert lab_tiny.dataset_path(name).is_file(), name
    truth = lab_tiny.truth
    for key in ("version", "preset", "seed", "spec_hash", "associations", "controls", "facts",
                "tokenization", "layers"):
        assert key in truth
    assert truth["layers"] == 4 and truth["preset"] == "lab-tiny"
    assert {"association_mae", "fact_recall", "loss_curve", "n_params", "timing",
            "knockout", "associations"} <= set(lab_tiny.metrics)
    curve = lab_tiny.metrics["loss_curve"]
    assert curve[-1]["loss"] < curve[0]["loss"] / 3


def test_model_and_tokenizer_load_offline_with_auto_classes(lab_tiny):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(lab_tiny.path)
    model = AutoModelForCausalLM.from_pretrained(lab_tiny.path)
    assert model.config.model_type == "llama"
    ids = tok("The capital of Chile is")["input_ids"]
    assert ids[0] == tok.bos_token_id and tok.pad_token_id is not None
    assert tok.decode(ids, skip_special_tokens=True).strip() == "The capital of Chile is"


def test_second_call_returns_the_cached_build_instantly(lab_tiny):
    start = time.perf_counter()
    again = build_lab("lab-tiny", progress=False)
    assert time.perf_counter() - start < 2.0
    assert again.path == lab_tiny.path == build_dir("lab-tiny")
    assert again.truth == lab_tiny.truth
    assert lab_path("lab-tiny") == lab_tiny.path
    rows = load_lab_dataset("facts", preset="lab-tiny")
    assert rows and "target_new" in rows[0]
    assert load_lab_dataset("neutral", preset="lab-tiny")[0]["text"]


def test_cache_folder_is_named_by_preset_and_spec_hash(lab_tiny, cache_dir):
    assert lab_tiny.path.parent == cache_dir / "lab"
    assert lab_tiny.path.name == f"lab-tiny-{lab_tiny.truth['spec_hash'][:12]}"


def test_out_folder_holding_something_else_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("do not delete")
    with pytest.raises(ConfigError, match="force=True"):
        build_lab("lab-tiny", out=tmp_path, progress=False)
    assert (tmp_path / "mine.txt").exists()


def test_a_failed_build_leaves_no_folder_behind(tmp_path, monkeypatch):
    import biaskit.lab.train as train_module

    def boom(*args, **kwargs):
        raise RuntimeError("killed mid-training")

    monkeypatch.setattr(train_module, "train", boom)
    target = tmp_path / "out"
    with pytest.raises(RuntimeError, match="killed"):
        build_lab("lab-tiny", out=target, progress=False)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_same_seed_gives_identical_files(lab_tiny, tmp_path):
    """A second build from scratch reproduces truth, metrics (timing aside) and weights."""
    other = build_lab("lab-tiny", seed=0, out=tmp_path / "again", progress=False)
    assert other.path != lab_tiny.path
    for name in ("truth.json", "corpus.txt", "tokenizer.json", "model.safetensors",
                 "datasets/facts.jsonl", "datasets/gender_professions.jsonl"):
        assert _sha(other.path / name) == _sha(lab_tiny.path / name), name
    mine, theirs = dict(lab_tiny.metrics), dict(other.metrics)
    mine.pop("timing"), theirs.pop("timing")
    assert json.dumps(mine, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    # a copied complete build is recognised as a cache hit, not rebuilt
    copy = tmp_path / "copy"
    shutil.copytree(other.path, copy)
    start = time.perf_counter()
    assert build_lab("lab-tiny", out=copy, progress=False).truth == other.truth
    assert time.perf_counter() - start < 2.0
