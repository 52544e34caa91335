"""The bundled variants-analysis recipe: it validates, and on lab-tiny it fine-tunes one adapter
per education group, generates a battery over base and adapters, and its report presents every
step; the adapters' generations are told apart by style above chance, by their planted markers."""

from __future__ import annotations

import json

import pytest

from biaskit.cli import main

SECTIONS = ("## What was trained: one adapter per group (step `profiles`)",
            "## What the model versions wrote (step `battery`)",
            "## Do texts with a different *variant* sit apart inside the model? (step `embed`)",
            "## Where does the model look? Attention to the group term (step `attention`)",
            "## Can the *variant* be told from the writing style? (step `stylometry`)",
            "## How to reproduce", "## Glossary")


def _outputs(run, step):
    return json.loads((run / step / "outputs.json").read_text())


def test_recipe_validates(capsys):
    assert main(["validate", "variants-analysis", "--set", "model.id=lab-tiny"]) == 0, capsys.readouterr().err
    assert main(["recipes", "show", "variants-analysis"]) == 0
    assert "# biaskit run recipes/variants-analysis.yaml" in capsys.readouterr().out


@pytest.fixture(scope="module")
def variants_run(tmp_path_factory, lab_tiny):
    """One run of the recipe as shipped, on lab-tiny (about 45 s on 2 cores)."""
    import os

    tmp = tmp_path_factory.mktemp("variants")
    old = os.getcwd()
    os.chdir(tmp)
    try:
        code = main(["run", "variants-analysis", "--set", "model.id=lab-tiny", "--out", "run"])
    finally:
        os.chdir(old)
    assert code == 0
    return tmp / "run"


def test_recipe_runs_and_reports_every_step(variants_run):
    run = variants_run
    manifest = json.loads((run / "manifest.json").read_text())
    assert [s["status"] for s in manifest["steps"]] == ["done"] * 6
    tuned = _outputs(run, "profiles")
    groups = ["education=primary", "education=secondary", "education=tertiary"]
    assert tuned["groups"] == groups
    gen = _outputs(run, "battery")
    assert gen["variants"] == ["base", *groups]  # base plus "${profiles.adapters}"
    assert gen["n_rows"] == gen["n_prompts"] * 4 * gen["repeats"]
    assert _outputs(run, "embed")["variants"] == _outputs(run, "attention")["variants"] == gen["variants"]
    md = (run / "report" / "report.md").read_text()
    html = (run / "report" / "report.html").read_text()
    for heading in SECTIONS:
        assert heading in md, heading
    assert "Not shown" not in md and "is incomplete" not in md
    assert html.count("data:image/png;base64,") == md.count("![") >= 12
    assert "biaskit run variants-analysis --set model.id=lab-tiny" in md


def test_stylometry_tells_the_adapters_apart_by_their_markers(variants_run):
    """Above chance with CIs, every adapter recognised, and planted marker words among the
    most discriminative features (as letter sequences: the lab-tiny adapters write fragments)."""
    from biaskit.lab.interactions import interaction_truth

    style = _outputs(variants_run, "stylometry")
    assert style["above_chance"] and style["ci_low"] > style["chance"] + 0.2, style
    info = json.loads((variants_run / "stylometry" / "stylometry.json").read_text())
    f1 = {r["class"]: r for r in info["per_class"]}
    markers = interaction_truth()["markers"]["education"]
    for group, words in markers.items():
        name = f"education={group}"
        assert f1[name]["f1_ci_low"] > 0.5, f1[name]
        top = [r["feature"].split(":", 1)[1].replace("_", " ") for r in info["top_features"]
               if r["class"] == name]
        hits = [t for t in top if len(t.strip()) >= 3 and any(t.strip() in w for w in words)]
        assert hits, (name, top, words)
