"""Generation: left padding, seeds that ignore batching, the tidy grid, and the vLLM guard."""

from __future__ import annotations

import json
import sys

import pytest
import torch

from biaskit.errors import ConfigError
from biaskit.models.tiny import tiny_model
from biaskit.prompting import SamplingConfig, battery_from_mapping, derive_seed, run_battery
from biaskit.prompting.generate import build_requests, generate_requests, prompt_ids
from biaskit.prompting.sampling import filtered_probs, sample_rows

BATTERY = {
    "name": "mini", "repeats": 2,
    "variables": {"who": ["a cook", "an old sailor who has seen the sea"], "lang": ["x", "yz"]},
    "templates": [{"id": "q", "text": "I am {who} ({lang}). Today", "language": "en"},
                  {"id": "r", "text": "Hi {who}", "language": "en"}],
}


def greedy_by_hand(model, ids: list[int], n: int) -> list[int]:
    """Greedy decoding of one sequence with full forward passes: no padding, no cache."""
    seq = list(ids)
    with torch.no_grad():
        for _ in range(n):
            logits = model.hf(input_ids=torch.tensor([seq])).logits[0, -1]
            seq.append(int(logits.argmax()))
    return seq[len(ids):]


@pytest.mark.parametrize("model_type", ["llama", "gpt2"])
def test_batched_greedy_equals_single_sequence_loop(model_type):
    model = tiny_model(model_type, seed=4)
    battery = battery_from_mapping(BATTERY)
    sampling = SamplingConfig(do_sample=False, max_new_tokens=6)
    requests = build_requests(model.tokenizer, battery, 1, sampling)
    assert len({len(r.ids) for r in requests}) > 1  # lengths differ: the batch is left-padded
    batched = generate_requests(model, requests, sampling, batch_size=len(requests), progress=False)
    eos = model.tokenizer.eos_token_id
    for req, gen in zip(requests, batched, strict=True):
        expected = greedy_by_hand(model, list(req.ids), 6)
        if eos in expected:
            expected = expected[:expected.index(eos)]
        assert model.tokenizer.decode(expected, skip_special_tokens=True) == gen.text
        assert gen.n_tokens == len(expected)


def test_sampling_is_reproducible_and_independent_of_batching():
    model = tiny_model("llama", seed=5)
    battery = battery_from_mapping(BATTERY)
    sampling = SamplingConfig(temperature=1.0, top_p=0.9, max_new_tokens=6, seed=11)
    runs = [run_battery(model, battery, ["base"], sampling=sampling, batch_size=bs, progress=False)
            for bs in (16, 16, 3, 1)]
    texts = [[r["text"] for r in run.rows] for run in runs]
    assert texts[0] == texts[1] == texts[2] == texts[3]
    assert len(set(texts[0])) > len(texts[0]) // 2  # samples really differ from each other
    other = run_battery(model, battery, ["base"], sampling=SamplingConfig(
        temperature=1.0, top_p=0.9, max_new_tokens=6, seed=12), progress=False)
    assert [r["text"] for r in other.rows] != texts[0]
    assert runs[0].rows[0]["seed"] == derive_seed(11, runs[0].rows[0]["prompt_id"], 0)


def test_rows_are_prompts_x_variants_x_samples(tmp_path):
    model = tiny_model("llama", seed=6)
    battery = battery_from_mapping(BATTERY)
    variants = ["base", {"name": "also_base", "path": None}]
    result = run_battery(model, battery, variants, repeats=3,
                         sampling=SamplingConfig(max_new_tokens=4), progress=False)
    n_prompts = len(battery.prompts)
    assert n_prompts == 4 + 2
    assert len(result.rows) == n_prompts * 2 * 3
    keys = {(r["prompt_id"], r["variant"], r["sample"]) for r in result.rows}
    assert len(keys) == len(result.rows)
    row = result.rows[0]
    for col in ("battery", "prompt_id", "template", "language", "who", "lang", "variant", "sample",
                "seed", "prompt", "text", "n_tokens", "finish_reason"):
        assert all(col in r for r in result.rows)
    assert {r["lang"] for r in result.rows if r["template"] == "r"} == {None}  # "r" does not use it
    # the same seeds under both variants (common random numbers): identical weights, same text
    by_key = {(r["prompt_id"], r["sample"], r["variant"]): r["text"] for r in result.rows}
    assert all(by_key[(p, s, "base")] == by_key[(p, s, "also_base")] for p, s, _ in by_key)
    result.save(tmp_path)
    lines = (tmp_path / "generations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(result.rows) and json.loads(lines[0])["text"] == row["text"]
    import csv

    with open(tmp_path / "generations.csv", encoding="utf-8", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(result.rows)
    assert json.loads((tmp_path / "generate.json").read_text())["n_rows"] == len(result.rows)


def test_filtered_probs_and_inverse_cdf_sampling():
    scores = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    top_p = filtered_probs(scores, SamplingConfig(temperature=1.0, top_p=0.7))
    torch.testing.assert_close(top_p, torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    top_k = filtered_probs(scores, SamplingConfig(temperature=1.0, top_p=1.0, top_k=1))
    torch.testing.assert_close(top_k, torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    # empirical frequencies follow the probabilities
    gen = torch.Generator().manual_seed(0)
    probs = filtered_probs(scores, SamplingConfig(temperature=1.0, top_p=1.0))
    draws = torch.stack([sample_rows(probs, [gen]) for _ in range(4000)]).flatten()
    freq = torch.bincount(draws, minlength=4).double() / 4000
    torch.testing.assert_close(freq, probs[0].double(), atol=0.03, rtol=0)


def test_chat_template_is_used_when_present():
    model = tiny_model("llama")
    tok = model.tokenizer
    battery = battery_from_mapping({"templates": [{"id": "x", "text": "hello"}], "system": "sys"})
    prompt = battery.prompts[0]
    plain = prompt_ids(tok, prompt)
    assert tok.decode(plain) == "sys\n\nhello"
    tok.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
                         "{% if add_generation_prompt %}<assistant>{% endif %}")
    assert tok.decode(prompt_ids(tok, prompt)) == "<system>sys<user>hello<assistant>"
    assert tok.decode(prompt_ids(tok, prompt, chat="never")) == "sys\n\nhello"
    tok.chat_template = None
    with pytest.raises(ConfigError, match="no chat template"):
        prompt_ids(tok, prompt, chat="always")


def test_vllm_missing_gives_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    model = tiny_model("llama")
    battery = battery_from_mapping(BATTERY)
    with pytest.raises(ConfigError) as err:
        run_battery(model, battery, ["base"], backend="vllm", progress=False)
    message = str(err.value)
    assert "\n" not in message and "pip install 'biaskit[vllm]'" in message


def test_bad_options():
    model = tiny_model("llama")
    battery = battery_from_mapping(BATTERY)
    with pytest.raises(ConfigError, match="unknown backend"):
        run_battery(model, battery, backend="tgi")
    with pytest.raises(ConfigError, match="temperature must be > 0"):
        SamplingConfig(temperature=0)
    with pytest.raises(ConfigError, match="top_p"):
        SamplingConfig(top_p=1.5)


@pytest.mark.parametrize("top_p, top_k", [(0.9, 0), (0.5, 0), (0.99, 0), (0.9, 50), (1.0, 20)])
def test_filters_match_transformers_warpers(top_p, top_k):
    """The kept sets equal transformers' TopK/TopP warpers (full sort) on random logits.

    Over 20k tokens, the rows' flatness sends the nucleus search down each of its three
    paths: a short nucleus (top), a short tail (bottom), and neither (full sort).
    """
    from transformers import TopKLogitsWarper, TopPLogitsWarper

    gen = torch.Generator().manual_seed(0)
    scales = torch.tensor([0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0])
    scores = torch.randn(8, 20000, generator=gen) * scales[:, None]
    expected = scores.clone()
    if top_k:
        expected = TopKLogitsWarper(top_k)(None, expected)
    if top_p < 1:
        expected = TopPLogitsWarper(top_p)(None, expected)
    ours = filtered_probs(scores, SamplingConfig(temperature=1.0, top_p=top_p, top_k=top_k))
    assert torch.equal(ours > 0, torch.isfinite(expected))
    torch.testing.assert_close(ours, torch.softmax(expected, -1))


def test_adapter_variant_generates_like_the_merged_model(tmp_path):
    """A LoRA variant gives the merged model's greedy outputs; the base weights come back."""
    from peft import LoraConfig, get_peft_model

    donor = tiny_model("llama", seed=8)
    peft_model = get_peft_model(donor.hf, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                     init_lora_weights=False))
    peft_model.save_pretrained(tmp_path / "ad")
    merged = peft_model.merge_and_unload()
    from biaskit.models.model import Model

    merged_model = Model.from_hf(merged, donor.tokenizer, name="merged")
    model = tiny_model("llama", seed=8)
    before = model.fingerprint()
    battery = battery_from_mapping(BATTERY)
    greedy = SamplingConfig(do_sample=False, max_new_tokens=6)
    result = run_battery(model, battery, ["base", {"name": "lora", "path": str(tmp_path / "ad")}],
                         sampling=greedy, progress=False)
    assert model.fingerprint() == before
    reference = run_battery(merged_model, battery, ["base"], sampling=greedy, progress=False)
    lora = [r["text"] for r in result.rows if r["variant"] == "lora"]
    base = [r["text"] for r in result.rows if r["variant"] == "base"]
    assert lora == [r["text"] for r in reference.rows]
    assert lora != base


def test_vllm_backend_requests_with_a_fake_vllm(tmp_path, monkeypatch):
    """The vLLM glue (not vLLM itself): engine arguments, one request per prompt x variant with
    its seed and LoRA, results mapped back to rows; edits are refused."""
    import types

    calls: dict = {}

    class LLM:
        def __init__(self, **kwargs):
            calls["engine"] = kwargs

        def generate(self, prompts, sampling_params=None, lora_request=None, use_tqdm=True):
            calls.update(prompts=prompts, params=sampling_params, loras=lora_request)
            done = types.SimpleNamespace
            return [done(outputs=[done(text=f"out{i}", token_ids=[1, 2], finish_reason="length")])
                    for i in range(len(prompts))]

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LoRARequest:
        def __init__(self, name, int_id, path):
            self.args = (name, int_id, path)

    fake = types.ModuleType("vllm")
    fake.LLM, fake.SamplingParams = LLM, SamplingParams
    lora_mod = types.ModuleType("vllm.lora")
    request_mod = types.ModuleType("vllm.lora.request")
    request_mod.LoRARequest = LoRARequest
    for name, mod in (("vllm", fake), ("vllm.lora", lora_mod), ("vllm.lora.request", request_mod)):
        monkeypatch.setitem(sys.modules, name, mod)

    tiny = tiny_model("llama")
    tiny.hf.save_pretrained(tmp_path / "m")
    tiny.tokenizer.save_pretrained(tmp_path / "m")
    adapter = tmp_path / "ad"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 12}))
    (adapter / "adapter_model.safetensors").write_bytes(b"")
    battery = battery_from_mapping(BATTERY)
    sampling = SamplingConfig(temperature=0.7, top_p=0.9, max_new_tokens=5, seed=3)
    result = run_battery(str(tmp_path / "m"), battery, ["base", {"name": "lora", "path": str(adapter)}],
                         sampling=sampling, backend="vllm", progress=False,
                         vllm_args={"gpu_memory_utilization": 0.5})
    n = len(battery.prompts) * 2
    assert len(result.rows) == n * 2 and len(calls["prompts"]) == n * 2
    engine = calls["engine"]
    assert engine["enable_lora"] and engine["max_lora_rank"] == 16 and engine["max_loras"] == 1
    assert engine["gpu_memory_utilization"] == 0.5 and engine["model"] == str(tmp_path / "m")
    assert calls["loras"][:n] == [None] * n
    assert all(r.args == ("lora", 1, str(adapter.resolve())) for r in calls["loras"][n:])
    params = calls["params"][0].kwargs
    assert params["temperature"] == 0.7 and params["top_p"] == 0.9 and params["max_tokens"] == 5
    assert [p.kwargs["seed"] for p in calls["params"]] == [r["seed"] for r in result.rows]
    expected_ids = build_requests(tiny.tokenizer, battery, 2, sampling)
    assert calls["prompts"][0]["prompt_token_ids"] == list(expected_ids[0].ids)
    assert result.rows[-1]["text"] == f"out{2 * n - 1}" and result.rows[0]["finish_reason"] == "length"

    edit = tmp_path / "edit"
    edit.mkdir()
    (edit / "edit.json").write_text("{}")
    (edit / "deltas.safetensors").write_bytes(b"")
    with pytest.raises(ConfigError, match="saved edits: use backend transformers"):
        run_battery(str(tmp_path / "m"), battery, [str(edit)], backend="vllm", progress=False)


def test_plain_chat_prompts_match_the_fine_tune_format():
    """`chat: plain` must open exactly the assistant turn LoRA fine-tunes train on."""
    from types import SimpleNamespace

    from biaskit.editors.lora_data import render_chat
    from biaskit.prompting.generate import plain_chat_prompt

    tok = SimpleNamespace(chat_template=None, eos_token="</s>")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"},
                {"role": "assistant", "content": "Hello."}]
    text, spans = render_chat(tok, messages)
    prompt = plain_chat_prompt("Hi?", "Be brief.")
    assert text.startswith(prompt)
    assert text[len(prompt):spans[0][0]] == " "  # the answer starts after one space
