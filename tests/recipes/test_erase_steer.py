"""The `erase` and `steer` steps on lab-tiny: wiring, outputs, and replay on --resume."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from biaskit.errors import ConfigError
from biaskit.recipes.runner import run_recipe
from biaskit.recipes.step import StepType, param
from biaskit.recipes.validate import validate

RECIPE = """\
name: erase-steer
model: {id: lab-tiny, device: cpu}
seed: 0
steps:
  - probe: {data: lab:gender_professions, label: gender, where: {gender: [female, male]}, cv: 3}
  - locate: {from: [probe]}
  - erase:
      data: lab:gender_professions
      label: gender
      layers: "${locate.layers}"
      where: {gender: [female, male]}
      heldout: 0.25
  - steer: {name: towards_she, toward: female, strength: 2.0}
  - steer:
      name: from_data
      data: lab:gender_professions
      label: gender
      where: {gender: [female, male]}
      toward: male
      layer: 1
      strength: 1.0
  - flaky: {marker: MARKER}
  - measure: {}
"""


@dataclass(frozen=True)
class MeasureParams:
    prompt: str = param("The pilot said that", help="Prompt whose logits are summarised.")


def _measure(ctx, p: MeasureParams) -> dict:
    import torch

    model = ctx.model
    enc = model.tokenizer([p.prompt], return_tensors="pt")
    with torch.no_grad():
        logits = model.hf(**enc).logits[0, -1]
    return {"logit_sum": float(logits.double().sum()), "logit_max": float(logits.max()),
            "fingerprint": model.fingerprint()}


@pytest.fixture(scope="module", autouse=True)
def measure_step():
    from biaskit.recipes.steps import STEPS, register_step

    if "measure" not in STEPS:
        register_step(StepType(kind="measure", params=MeasureParams, run=_measure,
                               outputs={"logit_sum": float, "logit_max": float, "fingerprint": str},
                               description="summarise the logits of one prompt (tests)"))


def _write(tmp_path, name="r.yaml", text=RECIPE):
    path = tmp_path / name
    path.write_text(text.replace("MARKER", str(tmp_path / "fail")))
    return path


def test_erase_and_steer_run_and_replay_on_resume(tmp_path, lab_tiny, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = _write(tmp_path)
    clean = run_recipe(recipe, out=tmp_path / "clean", progress=False)
    erase = clean.outputs["erase"]
    assert erase["layers"] == clean.outputs["locate"]["layers"]
    assert erase["ranks"] == [1] * len(erase["layers"]) and erase["classes"] == ["female", "male"]
    assert erase["relative_gap"] < 1e-4 and erase["n_heldout"] == 18 and erase["n_fit"] == 54
    assert erase["heldout_accuracy_after"] is not None and erase["fingerprint_before"] != \
        erase["fingerprint_after"]
    assert (tmp_path / "clean" / "erase" / "erase" / "deltas.safetensors").exists()
    rows = json.loads((tmp_path / "clean" / "erase" / "erase.json").read_text())["rows"]
    assert [r["layer"] for r in rows] == erase["layers"]
    probe = clean.outputs["towards_she"]
    assert probe["layer"] == clean.outputs["probe"]["best_layer"] and probe["source"].startswith("probe:")
    data = clean.outputs["from_data"]
    assert data["layer"] == 1 and data["direction_norm"] > 0 and data["toward"] == "male"
    assert (tmp_path / "clean" / "from_data" / "steer" / "direction.safetensors").exists()
    measured = clean.outputs["measure"]
    assert measured["fingerprint"] == erase["fingerprint_after"]  # steering leaves the weights

    (tmp_path / "fail").write_text("")
    with pytest.raises(Exception, match="planned failure"):
        run_recipe(recipe, out=tmp_path / "run", progress=False)
    (tmp_path / "fail").unlink()
    resumed = run_recipe(recipe, out=tmp_path / "run", resume=True, progress=False)
    statuses = {s["name"]: s["status"] for s in resumed.manifest["steps"]}
    assert statuses["erase"] == statuses["towards_she"] == statuses["from_data"] == "skipped"
    assert statuses["measure"] == "done"
    again = resumed.outputs["measure"]
    assert again["fingerprint"] == measured["fingerprint"]  # the erasure was replayed
    assert again["logit_sum"] == pytest.approx(measured["logit_sum"], abs=1e-6)  # and the steering
    assert again["logit_max"] == pytest.approx(measured["logit_max"], abs=1e-6)


def test_steering_changes_the_measure(tmp_path, lab_tiny, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = RECIPE.split("  - probe:")[0] + "  - measure: {}\n"
    base = run_recipe(_write(tmp_path, "p.yaml", plain), out=tmp_path / "plain", progress=False)
    steered_text = plain.replace("  - measure: {}\n", "  - steer: {data: lab:gender_professions, "
                                 "label: gender, where: {gender: [female, male]}, toward: female, "
                                 "layer: 2, strength: 5.0}\n  - measure: {}\n")
    steered = run_recipe(_write(tmp_path, "s.yaml", steered_text), out=tmp_path / "steered",
                         progress=False)
    assert base.outputs["measure"]["fingerprint"] == steered.outputs["measure"]["fingerprint"]
    assert base.outputs["measure"]["logit_sum"] != pytest.approx(steered.outputs["measure"]["logit_sum"])


@pytest.mark.parametrize(("step", "message"), [
    ("  - erase: {data: lab:gender_professions, label: gender}\n", "layers"),
    ("  - erase: {data: lab:gender_professions, label: gender, layers: 1, heldout: 1.5}\n",
     "heldout"),
    ("  - steer: {toward: female, strength: 1.0}\n", "steer needs a direction"),
    ("  - steer: {data: lab:gender_professions, toward: female, strength: 1.0, layer: 1}\n",
     "label"),
    ("  - steer: {data: lab:gender_professions, label: gender, toward: female, strength: 1.0}\n",
     "layer"),
    ("  - steer: {data: lab:gender_professions, label: gender, toward: female, strength: 1.0, "
     "layer: 1, site: mlp_key}\n", "site"),
])
def test_validation_errors(tmp_path, step, message):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nmodel: lab-tiny\nsteps:\n" + step)
    with pytest.raises(ConfigError, match=message):
        validate(path)
