"""The lora-vs-memit recipe and what it rests on: `keep: false` on edit/erase, and
`evaluate` with `variants:` scoring each method alone on the same base model, side by side."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from biaskit.cli import main

QUICK = ["--set", "model.id=lab-tiny", "--set", "steps.memit.limit=4",
         "--set", "steps.memit.config={mom2_n_samples: 500, v_num_grad_steps: 3}",
         "--set", "steps.trace.limit=3", "--set", "steps.trace.samples=2"]
VARIANTS = ["base", "cda", "memit", "erase"]


def _outputs(run: Path, step: str) -> dict:
    return json.loads((run / step / "outputs.json").read_text())


@pytest.fixture
def loaded(monkeypatch):
    """The models the runner loads (to look at their weights after the run)."""
    import biaskit.models

    real = biaskit.models.load_model
    models = []

    def keep(*args, **kwargs):
        models.append(real(*args, **kwargs))
        return models[-1]

    monkeypatch.setattr(biaskit.models, "load_model", keep)
    return models


def _planted_gap(rows: list[dict], variant: str, planted: set[str]) -> float:
    """Mean |P(she) - P(he)| over the planted professions (pooled over languages)."""
    sel = [r for r in rows if r["variant"] == variant and r["suite"] == "lab:gender_bias"
           and r["metric"] == "prob_gap" and r.get("axis") == "gender" and "language" not in r
           and r.get("group") in planted]
    assert len(sel) == len(planted), (variant, len(sel))
    return sum(abs(r["value"]) for r in sel) / len(sel)


def test_lora_vs_memit_compares_the_three_methods_each_alone(tmp_path, lab_tiny, monkeypatch, capsys,
                                                              loaded):
    import torch

    from biaskit.editors.result import apply_saved
    from biaskit.eval import run_suite
    from biaskit.models.loading import load_model

    monkeypatch.chdir(tmp_path)
    assert main(["run", "lora-vs-memit", *QUICK, "--out", "run"]) == 0, capsys.readouterr().err
    run = tmp_path / "run"
    manifest = json.loads((run / "manifest.json").read_text())
    assert [(s["name"], s["status"]) for s in manifest["steps"]] == [
        (n, "done") for n in ("cda", "trace", "locate", "memit", "erase", "compare", "report")]

    # Each method was computed on the base weights, not on top of another one.
    base_fp = manifest["model"]["fingerprint"]
    memit, erase = _outputs(run, "memit"), _outputs(run, "erase")
    assert memit["fingerprint_before"] == erase["fingerprint_before"] == base_fp
    assert memit["fingerprint_after"] != base_fp and erase["fingerprint_after"] != base_fp

    # The side-by-side table has the four variants, and differences from base.
    compare = _outputs(run, "compare")
    assert compare["variants"] == VARIANTS
    with open(run / "compare" / "comparison.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    head = list(table[0])
    assert {*VARIANTS, "cda - base", "memit - base", "erase - base", "erase_p_value"} <= set(head)
    assert {r["suite"] for r in table} == {"lab:gender_bias", "lab:knowledge", "perplexity"}
    ppl = next(r for r in table if r["suite"] == "perplexity" and r["metric"] == "perplexity")
    assert float(ppl["cda_diff"]) == pytest.approx(float(ppl["cda_value"]) - float(ppl["base_value"]))
    assert ppl["base"].startswith(f"{float(ppl['base_value']):.3f} [")
    md = (run / "compare" / "comparison.md").read_text()
    assert "| metric | base | cda | memit | erase | cda - base | p |" in md
    for variant in VARIANTS:
        assert (run / "compare" / variant / "lab_gender_bias" / "scores.json").is_file()

    # CDA-LoRA shrinks the planted she/he gap (H2 measured 0.25 -> 0.07 as |P(she) - 0.5|).
    rows = compare["comparison"]
    planted = {a["subject_id"] for a in lab_tiny.truth["associations"]
               if a["axis"] == "gender" and a["planted"] != 0.5}
    gaps = {v: _planted_gap(rows, v, planted) for v in VARIANTS}
    assert gaps["cda"] < 0.6 * gaps["base"], gaps
    closer = [r for r in rows if r["variant"] == "cda" and r["metric"] == "prob_gap" and "language" not in r
              and r.get("group") in planted and r["diff_ci_high"] is not None
              and (r["diff_ci_high"] < 0 if r["value"] > 0 else r["diff_ci_low"] > 0)]
    assert len(closer) >= len(planted) // 2, closer  # significantly toward 0 on most professions

    # An independent check: the erase variant alone on a fresh model gives the same scores,
    # so it was not measured on top of MEMIT or the adapter.
    fresh = load_model("lab-tiny", device="cpu")
    result = apply_saved(fresh, run / "erase" / "erase")
    alone = run_suite("lab:gender_bias", fresh, None, seed=0, progress=False)
    result.restore()
    want = {m.label: (None if math.isnan(m.value) else m.value) for m in alone.metrics}
    got = {r["metric"] + (f"[{r['groups'].replace(', ', ',')}]" if r["groups"] else ""): r["value"]
           for r in rows if r["variant"] == "erase" and r["suite"] == "lab:gender_bias"}
    assert got == pytest.approx(want)

    # The run's model ends with the base weights, bit for bit.
    assert len(loaded) == 1
    after = loaded[0].hf.state_dict()
    for name, tensor in fresh.hf.state_dict().items():
        assert torch.equal(after[name], tensor), name


RECIPE = """\
name: keep
model: {id: lab-tiny, device: cpu}
seed: 0
steps:
  - edit: {method: rome, layers: 1, requests: lab:facts, where: {relation: capital, language: en},
           limit: 1, keep: KEEP,
           config: {mom2_n_samples: 500, v_num_grad_steps: 3}}
  - evaluate: {variants: [base, edit], suites: [lab:knowledge], limit: 12}
"""


def test_keep_false_is_a_variant_and_is_not_replayed_on_resume(tmp_path, lab_tiny, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text(RECIPE.replace("KEEP", "false"))
    assert main(["run", "r.yaml", "--out", "run"]) == 0, capsys.readouterr().err
    out = _outputs(tmp_path / "run", "evaluate")
    assert out["variants"] == ["base", "edit"]
    recall = [r for r in out["comparison"] if r["metric"] == "recall" and r["variant"] == "edit"]
    assert recall and recall[0]["n_shared"] == recall[0]["n"]
    # Resuming with a changed evaluate step: the edit is skipped and NOT put back on the
    # fresh model (else applying it again as a variant would fail: "already applied").
    assert main(["run", "r.yaml", "--out", "run", "--resume", "--set", "steps.evaluate.limit=10"]) == 0, \
        capsys.readouterr().err
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [s["status"] for s in manifest["steps"]] == ["skipped", "done"]

    # An edit that stays in the weights cannot also be a variant: a clear error.
    (tmp_path / "k.yaml").write_text(RECIPE.replace("KEEP", "true"))
    assert main(["run", "k.yaml", "--out", "kept"]) == 2
    assert "set `keep: false` on step 'edit'" in capsys.readouterr().err


def test_evaluate_without_variants_is_unchanged(tmp_path, lab_tiny, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text("name: plain\nmodel: {id: lab-tiny, device: cpu}\nsteps:\n"
                                     "  - evaluate: {suites: [perplexity]}\n")
    assert main(["run", "r.yaml", "--out", "run"]) == 0, capsys.readouterr().err
    step = tmp_path / "run" / "evaluate"
    out = _outputs(tmp_path / "run", "evaluate")
    assert out["variants"] == [] and out["comparison"] == []
    assert "variant" not in out["metrics"][0]
    assert (step / "perplexity" / "scores.json").is_file() and not (step / "comparison.csv").exists()


def test_verify_checks_an_edit_that_was_not_kept(tmp_path, lab_tiny, monkeypatch, capsys):
    """verify puts a `keep: false` edit back for its check and takes it out again."""
    monkeypatch.chdir(tmp_path)
    recipe = RECIPE.replace("KEEP", "false").replace(
        "  - evaluate: {variants: [base, edit], suites: [lab:knowledge], limit: 12}\n",
        "  - verify: {}\n  - evaluate: {suites: [lab:knowledge], limit: 12}\n")
    (tmp_path / "r.yaml").write_text(recipe)
    assert main(["run", "r.yaml", "--out", "run"]) == 0, capsys.readouterr().err
    verify = json.loads((tmp_path / "run" / "verify" / "verify.json").read_text())
    efficacy = next(m for m in verify["metrics"] if m["metric"] == "efficacy")
    assert efficacy["before"] is not None and efficacy["after"] is not None
    # The evaluate step after it saw the unedited model: same recall as a fresh model's.
    from biaskit.eval import run_suite
    from biaskit.models import load_model

    fresh = run_suite("lab:knowledge", load_model("lab-tiny", device="cpu"), None, limit=12,
                      progress=False, seed=0)
    after = json.loads((tmp_path / "run" / "evaluate" / "lab_knowledge" / "scores.json").read_text())
    recall = next(m for m in after["metrics"] if m["metric"] == "recall" and not m.get("groups"))
    assert recall["value"] == pytest.approx(fresh.get("recall").value)
