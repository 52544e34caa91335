"""LoRA fine-tunes: assistant-only labels, base left bit-identical, peft format, resumable
per-group training, and the diagonal on the lab's synthetic conversation logs."""

import copy
import json
from types import SimpleNamespace

import pytest
import torch

from biaskit.editors.lora import LoraConfig, finetune, finetune_by, target_modules
from biaskit.editors.lora_data import IGNORE, encode_conversation, encode_corpus, encode_text
from biaskit.editors.result import param_checksums
from biaskit.errors import ConfigError, DataError
from biaskit.models.tiny import byte_tokenizer, tiny_model
from biaskit.models.variants import apply_variant

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
CONV = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"},
        {"role": "assistant", "content": "Hello there."}, {"role": "user", "content": "And?"},
        {"role": "assistant", "content": "Bye."}]
FAST = {"rank": 2, "alpha": 4, "max_steps": 6, "batch_size": 2, "lr": 5e-3, "log_every": 2, "dropout": 0.0}


def _trained_text(tok, example):
    return tok.decode([t for t, y in zip(example.ids, example.labels, strict=True) if y != IGNORE])


def test_labels_cover_assistant_turns_only_plain_format():
    """Byte tokens make the expected labels exact: assistant contents + EOS, nothing else."""
    tok = byte_tokenizer()
    ex = encode_conversation(tok, CONV, max_length=512)
    text = tok.decode(list(ex.ids))
    assert text == ("System: Be brief.\nUser: Hi?\nAssistant: Hello there.<eos>\n"
                    "User: And?\nAssistant: Bye.<eos>\n")
    assert _trained_text(tok, ex) == "Hello there.<eos>Bye.<eos>"
    # every trained position holds its own token id (labels are not shifted by hand)
    assert all(y in (IGNORE, t) for t, y in zip(ex.ids, ex.labels, strict=True))


def test_labels_with_a_chat_template_include_the_end_of_turn():
    tok = byte_tokenizer()
    tok.chat_template = CHATML
    ex = encode_conversation(tok, CONV, max_length=512)
    assert tok.decode(list(ex.ids)).startswith("<|im_start|>system\nBe brief.<|im_end|>\n")
    assert _trained_text(tok, ex) == "Hello there.<|im_end|>\nBye.<|im_end|>\n"


def test_texts_train_every_token_and_truncation_drops_empty_examples(caplog):
    tok = byte_tokenizer()
    ex = encode_text(tok, "abc", max_length=512)
    assert ex.labels == ex.ids and tok.decode(list(ex.ids)) == "abc<eos>"
    late = [{"role": "user", "content": "x" * 50}, {"role": "assistant", "content": "late"}]
    kept = encode_corpus(tok, [late, "short text", {"text": "row"}], max_length=20)
    assert len(kept) == 2 and "left out" in caplog.text
    with pytest.raises(DataError, match="neither a conversation"):
        encode_corpus(tok, [42], max_length=20)


def test_target_modules_come_from_the_architecture_adapter():
    import re

    model = tiny_model("llama")
    names = [n for n, _ in model.hf.named_modules()]
    auto = [n for n in names if re.fullmatch(target_modules(model, LoraConfig()), n)]
    assert len(auto) == 4 * 7 and "model.layers.3.mlp.down_proj" in auto
    assert "lm_head" not in auto and not any("rotary" in n for n in auto)
    pattern = target_modules(model, LoraConfig(target_modules="mlp", layers=(1,)))
    assert [n for n in names if re.fullmatch(pattern, n)] == [
        "model.layers.1.mlp.gate_proj", "model.layers.1.mlp.up_proj", "model.layers.1.mlp.down_proj"]
    gpt2 = tiny_model("gpt2")
    found = [n for n, _ in gpt2.hf.named_modules() if re.fullmatch(target_modules(gpt2, LoraConfig()), n)]
    assert sorted(found)[:4] == ["transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj",
                                 "transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.c_proj"]


@pytest.mark.parametrize("model_type", ["llama", "gpt2"])
def test_finetune_leaves_the_base_bit_identical_and_saves_peft_format(tmp_path, model_type):
    from peft import PeftModel

    model = tiny_model(model_type, seed=1)
    for p in list(model.hf.parameters())[:3]:
        p.requires_grad_(False)  # a caller's freezing must survive too
    grads = [p.requires_grad for p in model.hf.parameters()]
    before, fp = param_checksums(model), model.fingerprint()
    corpus = [CONV, "plain text too"] * 4
    adapter = finetune(model, corpus, {**FAST, "lr": 2e-2}, out=tmp_path / "a", progress=False, group="g")
    assert param_checksums(model) == before and model.fingerprint() == fp
    assert [p.requires_grad for p in model.hf.parameters()] == grads and not model.hf.training
    assert not any("lora" in n for n, _ in model.hf.named_modules())
    files = {p.name for p in (tmp_path / "a").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "adapter.json"} <= files
    meta = json.loads((tmp_path / "a" / "adapter.json").read_text())
    assert meta["group"] == "g" and meta["base_fingerprint"] == fp and meta["sizes"]["steps"] == 6
    assert meta["sizes"]["examples"] == 8 and len(meta["curve"]) == 3
    assert adapter.curve[-1]["loss"] < adapter.curve[0]["loss"]
    ids = torch.tensor([[5, 60, 70, 80, 90, 100]])
    with apply_variant(model, adapter.variant) as m, torch.no_grad():
        ours = m.hf(ids).logits
    with torch.no_grad():
        merged = PeftModel.from_pretrained(copy.deepcopy(model.hf), str(tmp_path / "a")).merge_and_unload()
        theirs = merged(ids).logits
        base = model.hf(ids).logits
    assert (ours - base).abs().max() > 1e-4
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_a_failed_finetune_leaves_no_adapter_and_an_unchanged_model(tmp_path, monkeypatch):
    from biaskit.editors import lora

    model = tiny_model("llama", seed=0)
    before = param_checksums(model)
    calls = []

    def failing(step, steps, config):
        calls.append(step)
        if step == 3:
            raise KeyboardInterrupt
        return config.lr

    monkeypatch.setattr(lora, "_lr", failing)
    with pytest.raises(KeyboardInterrupt):
        finetune(model, [CONV] * 4, FAST, out=tmp_path / "a", progress=False)
    assert calls == [0, 1, 2, 3]
    assert not (tmp_path / "a").exists() and list(tmp_path.iterdir()) == []  # no temp folder left
    assert param_checksums(model) == before and not any("lora" in n for n, _ in model.hf.named_modules())


def test_config_errors_and_qlora_without_cuda(tmp_path):
    model = tiny_model("llama")
    with pytest.raises(ConfigError, match="rank must be >= 1"):
        LoraConfig(rank=0)
    with pytest.raises(ConfigError, match="target_modules"):
        LoraConfig(target_modules="everything")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"^quantize: 4bit \(QLoRA\) needs a CUDA GPU") as info:
            finetune(model, [CONV], {**FAST, "quantize": "4bit"}, out=tmp_path / "q", progress=False)
        assert "\n" not in str(info.value)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not an adapter folder"):
        finetune(model, [CONV], FAST, out=tmp_path / "busy", progress=False)


def _group(name, train, heldout=()):
    return SimpleNamespace(name=name, profile={"g": name}, train=list(train), heldout=list(heldout))


def test_finetune_by_same_budget_resumes_and_retrains_stale(tmp_path, monkeypatch):
    from biaskit.editors import lora

    model = tiny_model("llama", seed=0)
    groups = {"g=a": _group("g=a", [CONV] * 2), "g=b|h=c": _group("g=b|h=c", [CONV] * 6)}
    split = SimpleNamespace(groups=groups, skipped={"g=z": 1})
    config = {**FAST, "max_steps": None, "epochs": 1.0}
    first = finetune_by(model, split, config, out=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapters.json", "g=a", "g=b__h=c"]
    # same budget: epochs over the median group (sizes 2 and 6 -> median 6 -> 3 steps of 2)
    assert {a.sizes["steps"] for a in first.values()} == {3}
    index = json.loads((tmp_path / "adapters.json").read_text())
    assert index["g=b|h=c"]["folder"] == "g=b__h=c"
    trained = []
    original = lora._finetune_examples
    monkeypatch.setattr(lora, "_finetune_examples",
                        lambda *a, **k: trained.append(k["group"]) or original(*a, **k))
    finetune_by(model, split, config, out=tmp_path, progress=False)
    assert trained == []  # both complete and current: skipped
    (tmp_path / "g=a" / "adapter.json").unlink()  # an incomplete folder is never taken as done
    finetune_by(model, split, {**config, "rank": 3}, out=tmp_path, progress=False)
    assert trained == ["g=a", "g=b|h=c"]  # other settings: retrained
    with pytest.raises(DataError, match="no group is large enough"):
        finetune_by(model, SimpleNamespace(groups={}, skipped={"g=a": 3}), config, out=tmp_path / "x")


def test_diagonal_on_the_lab_logs(lab_tiny_model, tmp_path):
    """Issue 7: each group's adapter gives its own held-out conversations the lowest
    perplexity among the groups' adapters, and the base model is unchanged."""
    from biaskit.data.interactions import parse_interactions, split_by
    from biaskit.editors.lora_data import diagonal, heldout_perplexity
    from biaskit.lab.interactions import generate_interactions

    model = lab_tiny_model
    before = param_checksums(model)
    convs = parse_interactions(generate_interactions(200, seed=0, languages=("en",)), salt="test")
    split = split_by(convs, ["education"], min_size=10, heldout=0.25, seed=0)
    assert len(split.groups) == 3
    config = LoraConfig(rank=4, alpha=8, dropout=0.0, lr=1e-2, max_steps=25, batch_size=8, max_length=96)
    adapters = finetune_by(model, split, config, out=tmp_path, progress=False)
    assert param_checksums(model) == before
    rows = heldout_perplexity(model, ["base", *(a.variant for a in adapters.values())],
                              {g: s.heldout for g, s in split.groups.items()}, max_length=96)
    assert param_checksums(model) == before
    wins = diagonal(rows)
    table = {(r["variant"], r["group"]): round(r["perplexity"], 1) for r in rows}
    assert wins == dict.fromkeys(split.groups, True), table
    assert all(table[(g, g)] < table[("base", g)] for g in split.groups)


def test_unknown_target_modules_are_a_config_error(tmp_path):
    model = tiny_model("llama")
    before = param_checksums(model)
    with pytest.raises(ConfigError, match="LoRA: "):
        finetune(model, [CONV], {**FAST, "target_modules": ["no_such_proj"]}, out=tmp_path / "a",
                 progress=False)
    assert param_checksums(model) == before and all(p.requires_grad for p in model.hf.parameters())
    assert list(tmp_path.iterdir()) == []
