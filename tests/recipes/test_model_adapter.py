"""`model: {adapter: ...}`: every step of a run works on a LoRA variant."""

from __future__ import annotations

import copy
import json

import torch

from biaskit.cli import main
from biaskit.models.tiny import tiny_model


def test_recipe_model_adapter_is_merged_for_every_step(tmp_path, monkeypatch, capsys):
    from peft import LoraConfig, get_peft_model

    model = tiny_model("llama", seed=4)
    model.hf.save_pretrained(tmp_path / "m")
    model.tokenizer.save_pretrained(tmp_path / "m")
    torch.manual_seed(3)
    peft_model = get_peft_model(copy.deepcopy(model.hf), LoraConfig(
        init_lora_weights=False, r=2, target_modules=["v_proj", "up_proj"]))
    peft_model.save_pretrained(tmp_path / "recipes" / "adapter")
    merged = peft_model.merge_and_unload()

    texts = tmp_path / "recipes" / "texts.jsonl"
    with open(texts, "w", encoding="utf-8") as fh:
        for i in range(16):
            fh.write(json.dumps({"text": f"item {i} is {'good' if i % 2 else 'bad'}"}) + "\n")
    recipe = tmp_path / "recipes" / "r.yaml"
    recipe.write_text(f"name: a\nmodel: {{id: {tmp_path / 'm'}, device: cpu, adapter: adapter}}\n"
                      "steps:\n  - evaluate: {suites: [perplexity], data: {perplexity: texts.jsonl}}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(recipe), "--out", "run"]) == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    got = json.dumps(manifest)
    assert "+adapter" in got  # the model is named as a variant

    # Perplexity of the run equals the peft-merged model's, not the base model's.
    from biaskit.eval import run_suite
    from biaskit.models import Model

    ref = Model.from_hf(merged, model.tokenizer, name="merged")
    want = run_suite("perplexity", ref, str(texts), progress=False).get("perplexity").value
    base = run_suite("perplexity", model, str(texts), progress=False).get("perplexity").value
    scores = json.loads((tmp_path / "run" / "evaluate" / "perplexity" / "scores.json").read_text())
    value = next(m["value"] for m in scores["metrics"] if m["metric"] == "perplexity" and not m.get("groups"))
    assert abs(value - want) < 1e-3 * want and abs(value - base) > 1e-3 * base
