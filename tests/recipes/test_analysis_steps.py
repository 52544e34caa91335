"""The `embed` and `stylometry` recipe steps: validation, a run on lab-tiny, `from:` a generate step."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from biaskit.errors import BiaskitError
from biaskit.recipes.runner import run_recipe
from biaskit.recipes.validate import validate

FAST_EMBED = "{data: lab:gender_sentences, label: language, limit: 60, methods: [pca], n_boot: 100, " \
             "null_repeats: 5, layers: [0, 3], reduce_layers: [3], VARIANTS}"


def _styles(path: Path) -> Path:
    rows = []
    for variant, word in (("base", "perhaps"), ("tuned", "certainly")):
        for sample in range(10):
            rows.append({"prompt": "p", "variant": variant, "sample": sample,
                         "text": f"{word.capitalize()}, the river is near the house number {sample}."})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_validation_catches_bad_parameters(tmp_path):
    data = _styles(tmp_path / "gen.jsonl")
    bad = {
        "embed: {data: lab:gender_sentences, label: language, methods: [pca, lda]}": "unknown method 'lda'",
        "embed: {data: lab:gender_sentences, label: language, pooling: max}": "pooling",
        "stylometry: {from: gen, label: variant}": "no earlier step named 'gen'",
        "stylometry: {label: variant}": "earlier generate step",
        f"stylometry: {{data: {data}, label: variant, cv: 1}}": "at least 2 folds",
    }
    for step, message in bad.items():
        recipe = tmp_path / "r.yaml"
        recipe.write_text(f"name: bad\nmodel: lab-tiny\nsteps:\n  - {step}\n")
        with pytest.raises(BiaskitError, match=message):
            validate(recipe)


def test_embed_with_a_variant_and_stylometry_on_a_file(tmp_path, lab_tiny, lab_tiny_model):
    import torch

    from biaskit.editors.result import apply_deltas

    module = lab_tiny_model.rewrite_module(1)
    name = next(n for n, m in lab_tiny_model.hf.named_modules() if m is module) + ".weight"
    torch.manual_seed(0)
    edit = apply_deltas(lab_tiny_model, {name: 0.3 * torch.randn_like(module.weight)}, method="test")
    folder = edit.save(tmp_path / "noise")
    edit.restore()
    data = _styles(tmp_path / "gen.jsonl")
    variants = f"variants: [base, {{name: noisy, path: {folder}}}]"
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: analysis\nmodel: {id: lab-tiny, device: cpu}\nseed: 0\nsteps:\n"
                      f"  - embed: {FAST_EMBED.replace('VARIANTS', variants)}\n"
                      f"  - stylometry: {{data: {data}, label: variant, clusters: sample, "
                      "permutations: 5, n_boot: 100}\n")
    result = run_recipe(recipe, out=tmp_path / "run", progress=False)
    embed = result.outputs["embed"]
    assert embed["variants"] == ["base", "noisy"] and embed["groups"] == ["en", "es", "fr"]
    assert embed["n"] == 60 and embed["best_layer"] in (0, 3)
    assert embed["silhouette"] > embed["silhouette_null"] + 0.1
    run = tmp_path / "run"
    for f in ("embeddings.json", "embedding_metrics.csv", "embedding_coordinates.csv",
              "embedding_separation.png", "embedding_map_pca_base.png", "embedding_map_pca_noisy.png"):
        assert (run / "embed" / f).is_file(), f
    metrics = json.loads((run / "embed" / "embeddings.json").read_text())["metrics"]
    layer0 = {r["variant"]: r["value"] for r in metrics if r["layer"] == 0 and r["metric"] == "silhouette"}
    assert layer0["base"] == pytest.approx(layer0["noisy"], abs=1e-6)  # the edit is at layer 1
    style = result.outputs["stylometry"]
    assert style["classes"] == ["base", "tuned"] and style["n"] == 20 and style["accuracy"] > 0.9
    assert (run / "stylometry" / "stylometry_confusion.png").is_file()


def test_stylometry_reads_the_latest_generate_step(tmp_path):
    from biaskit.recipes.step import CheckContext
    from biaskit.recipes.steps.stylometry import StylometryParams, _rows, check

    (tmp_path / "gen").mkdir()
    _styles(tmp_path / "gen" / "generations.jsonl")
    ctx = SimpleNamespace(earlier=lambda kind=None: ["gen"], step_dir=lambda name: tmp_path / name,
                          seed=0, lab_preset="lab")
    rows, source = _rows(ctx, StylometryParams(label="variant", where={"variant": "tuned"}))
    assert source.endswith("gen/generations.jsonl") and len(rows) == 10
    rows, _ = _rows(ctx, StylometryParams(label="variant", from_="gen", limit=4))
    assert len(rows) == 4
    check(StylometryParams(label="variant"), CheckContext(earlier={"gen": "generate"}, model_id="lab"))
    with pytest.raises(BiaskitError, match="either"):
        check(StylometryParams(label="variant", data="x.jsonl", from_="gen"),
              CheckContext(earlier={"gen": "generate"}, model_id="lab"))
    (tmp_path / "gen" / "generations.jsonl").unlink()
    with pytest.raises(BiaskitError, match="wrote no generations.jsonl"):
        _rows(ctx, StylometryParams(label="variant"))


def test_cli_stylometry(tmp_path, capsys):
    from biaskit.cli import main

    data = _styles(tmp_path / "gen.jsonl")
    code = main(["stylometry", "--data", str(data), "--label", "variant", "--permutations", "5",
                 "--n-boot", "100", "--out", str(tmp_path / "out")])
    assert code == 0 and (tmp_path / "out" / "stylometry.json").is_file()
    assert "accuracy" in capsys.readouterr().out
    assert main(["stylometry", "--data", str(data), "--label", "nope", "--out", str(tmp_path)]) == 2
