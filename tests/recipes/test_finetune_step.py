"""The `finetune` recipe step: the lora-by-profile recipe on lab-tiny, texts with CDA,
resuming after a failure with the groups already trained, and validation of `lora`.
(The lora-vs-memit recipe is tested in test_lora_vs_memit.py.)"""

import json

import pytest

from biaskit.cli import main

SMALL = ["--set", "model.id=lab-tiny", "--set", "steps.profiles.where={language: en}",
         "--set", "steps.profiles.limit=300", "--set", "steps.profiles.min_size=10",
         "--set", "steps.profiles.lora={rank: 2, alpha: 4, lr: 0.01, max_steps: 4, batch_size: 4, "
                  "max_length: 64}"]


def _outputs(run, step="profiles"):
    return json.loads((run / step / "outputs.json").read_text())


def test_lora_by_profile_recipe_runs_and_resumes_per_group(tmp_path, lab_tiny, monkeypatch, capsys):
    from biaskit.editors import lora

    monkeypatch.chdir(tmp_path)
    original = lora._finetune_examples
    trained = []

    def second_fails(*args, **kwargs):
        trained.append(kwargs["group"])
        if len(trained) == 2:
            raise RuntimeError("killed")
        return original(*args, **kwargs)

    monkeypatch.setattr(lora, "_finetune_examples", second_fails)
    with pytest.raises(RuntimeError, match="killed"):
        main(["run", "lora-by-profile", *SMALL, "--out", "run"])
    hidden = tmp_path / "run" / ".profiles.adapters"
    assert [p.name for p in hidden.iterdir() if p.is_dir()] == ["education=primary"]  # kept for resume
    assert not (tmp_path / "run" / "profiles").exists()

    monkeypatch.setattr(lora, "_finetune_examples",
                        lambda *a, **k: trained.append(k["group"]) or original(*a, **k))
    assert main(["run", "lora-by-profile", *SMALL, "--out", "run", "--resume"]) == 0, capsys.readouterr().err
    assert trained == ["education=primary", "education=secondary",  # the first run
                       "education=secondary", "education=tertiary"]  # the resumed run: primary skipped
    run = tmp_path / "run"
    out = _outputs(run)
    assert out["groups"] == ["education=primary", "education=secondary", "education=tertiary"]
    assert not hidden.exists() and (run / "profiles" / "split.csv").is_file()
    for group, path in out["adapters"].items():
        meta = json.loads((tmp_path / path / "adapter.json").read_text())
        assert meta["group"] == group and meta["sizes"]["steps"] == 4
    rows = out["perplexity"]
    assert len(rows) == 4 * 3 and {r["variant"] for r in rows} == {"base", *out["groups"]}
    assert set(out["diagonal"]) == set(out["groups"])
    assert (run / "profiles" / "perplexity.csv").read_text().startswith("variant,group,perplexity")

    from biaskit.models.variants import resolve_variants

    class Ctx:  # what a later step sees
        run_dir = run
        recipe = {"path": str(tmp_path / "r.yaml")}

        def earlier(self, kind=None):
            return ["profiles"]

        def outputs(self, step):
            return out

    for spec in (["base", "profiles"], ["base", out["adapters"]]):
        variants = resolve_variants(Ctx(), spec)
        assert [v.kind for v in variants] == ["base", "adapter", "adapter", "adapter"]


def test_finetune_texts_with_cda(tmp_path, lab_tiny, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text(
        "name: cda\nmodel: {id: lab-tiny}\nsteps:\n"
        "  - finetune: {data: lab:gender_sentences, where: {split: train}, limit: 24, objective: cda,\n"
        "               lora: {rank: 2, max_steps: 3, batch_size: 8}}\n")
    assert main(["run", "r.yaml", "--out", "run"]) == 0, capsys.readouterr().err
    out = _outputs(tmp_path / "run", "finetune")
    assert out["groups"] == ["all"] and out["objective"] == "cda" and out["perplexity"] == []
    assert out["sizes"]["all"]["items"] == 48  # every sentence has a pronoun: 24 + 24 swapped copies
    meta = json.loads((tmp_path / "run" / "finetune" / "adapters" / "all" / "adapter.json").read_text())
    assert meta["config"]["objective"] == "cda"


@pytest.mark.parametrize("step, message", [
    ("{data: lab:interactions, lora: {rnak: 2}}", "unknown key 'lora.rnak' (did you mean 'lora.rank'?)"),
    ("{data: lab:interactions, lora: {rank: 0}}", "rank must be >= 1"),
    ("{data: lab:interactions, lora: {objective: cda}}", "set 'objective' on the step"),
    ("{data: lab:interactions, heldout: 1.5}", "a fraction in [0, 1)"),
    ("{data: lab:nope}", "unknown lab dataset"),
])
def test_validation_errors(tmp_path, capsys, step, message):
    (tmp_path / "r.yaml").write_text(f"name: x\nsteps:\n  - finetune: {step}\n")
    assert main(["validate", str(tmp_path / "r.yaml")]) == 2
    assert message in capsys.readouterr().err

