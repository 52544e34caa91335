"""`biaskit generate`, `biaskit attention` and the `generate`/`attention` recipe steps on lab-tiny."""

from __future__ import annotations

import csv
import json

import pytest

from biaskit.cli import main

BATTERY = """\
name: tiny
repeats: 2
variables:
  who: [nurse, pilot]
templates:
  - id: a
    text: {en: "The {who} said that", es: "El {who} dijo que"}
  - id: b
    text: "My {who} is"
    language: fr
"""


@pytest.fixture
def battery(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(BATTERY, encoding="utf-8")
    return tmp_path / "tiny.yaml"


def test_generate_command(battery, lab_tiny, capsys):
    code = main(["generate", "--model", "lab-tiny", "--device", "cpu", "--battery", str(battery),
                 "--max-new-tokens", "5", "--variant", "base", "--variant", "again=base",
                 "--out", "gen"])
    assert code == 0, capsys.readouterr().err
    with open("gen/generations.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # (2 languages x 2 + 1 language x 2) prompts x 2 variants x 2 samples
    assert len(rows) == 6 * 2 * 2
    assert {r["variant"] for r in rows} == {"base", "again"}
    assert {r["language"] for r in rows} == {"en", "es", "fr"}
    meta = json.loads(open("gen/generate.json", encoding="utf-8").read())
    assert meta["sampling"]["max_new_tokens"] == 5 and meta["chat_template"] is False
    # the same command twice gives the same file
    assert main(["generate", "--model", "lab-tiny", "--device", "cpu", "--battery", str(battery),
                 "--max-new-tokens", "5", "--variant", "base", "--variant", "again=base",
                 "--out", "gen2"]) == 0
    assert open("gen/generations.jsonl").read() == open("gen2/generations.jsonl").read()


def test_generate_errors_are_one_line(battery, capsys):
    code = main(["generate", "--model", "lab-tiny", "--battery", "missing.yaml", "--out", "o"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: battery file 'missing.yaml' does not exist"


def test_attention_command(tmp_path, lab_tiny, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["attention", "--model", "lab-tiny", "--device", "cpu", "--data", "lab:gender_professions",
                 "--where", "language=en", "--limit", "16", "--append", "targets", "--by", "appended",
                 "--n-boot", "100", "--out", "att"])
    assert code == 0, capsys.readouterr().err
    saved = json.loads((tmp_path / "att" / "attention.json").read_text())
    assert saved["n_items"] == 32 and set(saved["top_heads"]) == {"all", "she", "he"}
    assert (tmp_path / "att" / "attention_heatmap.png").stat().st_size > 1000
    with open(tmp_path / "att" / "attention.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(0.0 <= float(r["mean"]) <= 1.0 for r in rows)


def test_recipe_steps(tmp_path, lab_tiny, monkeypatch):
    from biaskit.recipes.runner import run_recipe

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(BATTERY, encoding="utf-8")
    (tmp_path / "r.yaml").write_text("""\
name: h5
model: {id: lab-tiny, device: cpu}
steps:
  - generate: {battery: tiny.yaml, max_new_tokens: 4, repeats: 1, where: {language: [en, fr]}}
  - attention: {data: lab:gender_professions, where: {language: es}, limit: 12, n_boot: 100,
                variants: [base, {name: same, path: base}]}
""", encoding="utf-8")
    result = run_recipe(tmp_path / "r.yaml", out=tmp_path / "run", progress=False)
    gen, run_dir = result.outputs["generate"], result.run_dir
    lines = (run_dir / "generate" / "generations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4  # 2 en + 2 fr prompts x 1 variant x 1 sample
    assert gen["n_rows"] == 4 and gen["file"] == str(run_dir / "generate" / "generations.jsonl")
    att = result.outputs["attention"]
    assert att["variants"] == ["base", "same"] and att["changed_heads"] == {"same": 0}
    assert (run_dir / "attention" / "base" / "attention.csv").exists()
    assert (run_dir / "attention" / "compare_same.csv").exists()
