"""Table of malformed recipes: each gives one line `error: <file>:<line>: ...`, exit code 2,
and no run folder, both from `biaskit validate` and from `biaskit run`.

The expected line is marked in each recipe with `#<`; a case whose error is in an
override is located at `--set ...` instead of a file line.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from biaskit.cli import main

GOOD_STEPS = """\
steps:
  - probe: {data: lab:gender_professions, label: gender}
  - trace: {data: lab:gender_professions, contrast: [she, he]}
  - locate: {from: [probe, trace]}
  - report: {}
"""

# (id, files {name: text}, overrides, expected fragment). The recipe is `r.yaml`.
CASES = [
    ("bad-yaml-bracket", {"r.yaml": "name: x\nsteps: [probe,\n  - locate #<\n"}, [], "invalid YAML"),
    ("bad-yaml-indent", {"r.yaml": "name: x\nmodel:\n  id: lab\n dtype: float32 #<\nsteps: []\n"}, [],
     "invalid YAML"),
    ("bad-yaml-tab", {"r.yaml": "name: x\nsteps:\n\t- probe #<\n"}, [], "invalid YAML"),
    ("duplicate-key", {"r.yaml": "name: x\nseed: 1\nseed: 2 #<\n" + GOOD_STEPS}, [],
     "duplicate key 'seed' (first written at line 2)"),
    ("top-level-list", {"r.yaml": "- probe: {} #<\n"}, [], "a recipe is a mapping of keys"),
    ("empty-file", {"r.yaml": "# nothing here #<\n"}, [], "the recipe is empty"),
    ("unknown-top-key", {"r.yaml": "name: x\nstepz: [] #<\n" + GOOD_STEPS}, [],
     "unknown key 'stepz' (did you mean 'steps'?)"),
    ("missing-steps", {"r.yaml": "name: x #<\nseed: 0\n"}, [], "missing required key 'steps'"),
    ("steps-not-list", {"r.yaml": "name: x\nsteps: probe #<\n"}, [],
     "key 'steps': expected list of any, got str 'probe'"),
    ("no-steps", {"r.yaml": "name: x\nsteps: [] #<\n"}, [], "the recipe has no steps"),
    ("unknown-step", {"r.yaml": "steps:\n  - prob: {data: lab:facts, label: x} #<\n"}, [],
     "unknown step 'prob' (did you mean 'probe'?)"),
    ("step-params-not-indented", {"r.yaml": "steps:\n  - probe:\n    data: lab:facts #<\n"}, [],
     "expected one step name with its parameters, got 2 keys (probe, data)"),
    ("step-params-not-mapping", {"r.yaml": "steps:\n  - probe: lab:facts #<\n"}, [],
     "step 'probe': expected a mapping of parameters"),
    ("unknown-param", {"r.yaml": "steps:\n  - trace:\n      data: lab:facts\n      target: target\n"
                                  "  - locate:\n      layer: 1\n      spn: 2 #<\n"}, [],
     "step 'locate': unknown key 'spn' (did you mean 'span'?)"),
    ("wrong-type-int", {"r.yaml": "steps:\n  - probe:\n      data: lab:facts\n      label: x\n"
                                   "      cv: five #<\n"}, [],
     "step 'probe': key 'cv': expected int, got str 'five'"),
    ("wrong-type-pair", {"r.yaml": "steps:\n  - trace:\n      data: lab:facts\n"
                                    "      contrast: [she] #<\n"}, [],
     "key 'contrast': expected list of 2 (str, str), got list ['she']"),
    ("missing-param", {"r.yaml": "steps:\n  - probe: {data: lab:facts} #<\n"}, [],
     "step 'probe': missing required key 'label'"),
    ("bad-dtype", {"r.yaml": "model:\n  id: lab\n  dtype: float33 #<\n" + GOOD_STEPS}, [],
     "key 'model.dtype': expected 'auto' or 'float32' or 'float16' or 'bfloat16'"),
    ("bad-device", {"r.yaml": "model: #<\n  device: gpu\n" + GOOD_STEPS}, [],
     "expected auto, cpu, mps, cuda or cuda:N, got 'gpu'"),
    ("bad-seed", {"r.yaml": "seed: zero #<\n" + GOOD_STEPS}, [], "key 'seed': expected int"),
    ("ref-unknown-step", {"r.yaml": GOOD_STEPS + "  - edit:\n      requests: lab:facts\n"
                                                  "      layers: ${locat.layers} #<\n"}, [],
     "${locat.layers}: no earlier step named 'locat' (did you mean 'locate'?)"),
    ("ref-later-step", {"r.yaml": "steps:\n  - trace: {data: lab:facts, target: target}\n"
                                   "  - edit: {requests: lab:facts, layers: '${locate.layers}'} #<\n"
                                   "  - locate: {}\n"}, [],
     "${locate.layers}: step 'locate' runs later"),
    ("ref-unknown-output", {"r.yaml": GOOD_STEPS + "  - edit:\n      requests: lab:facts\n"
                                                    "      layers: ${locate.layer_range} #<\n"}, [],
     "step 'locate' has no output 'layer_range'"),
    ("ref-malformed", {"r.yaml": GOOD_STEPS + "  - edit:\n      requests: lab:facts\n"
                                               "      layers: ${locate} #<\n"}, [],
     "bad reference '${locate}'"),
    ("ref-wrong-type", {"r.yaml": GOOD_STEPS + "  - edit:\n      requests: lab:facts\n"
                                                "      layers: ${locate.reason} #<\n"}, [],
     "key 'layers': ${locate.reason} is str, expected list of int or int or null"),
    ("missing-data-file", {"r.yaml": "steps:\n  - probe:\n      label: g\n"
                                      "      data: nothing/here.jsonl #<\n"}, [],
     "key 'data': data file 'nothing/here.jsonl' not found"),
    ("missing-bundled-data", {"r.yaml": "steps:\n  - probe:\n      label: g\n"
                                         "      data: data/no/such.jsonl #<\n"}, [],
     "not found next to the recipe nor in biaskit's bundled data"),
    ("unknown-lab-dataset", {"r.yaml": "steps:\n  - probe:\n      label: g\n"
                                        "      data: lab:gender_profesions #<\n"}, [],
     "unknown lab dataset 'gender_profesions'"),
    ("missing-hparams", {"r.yaml": "steps:\n  - edit:\n      requests: lab:facts\n"
                                    "      hparams: rome-gpt2.yaml #<\n"}, [],
     "key 'hparams': file 'rome-gpt2.yaml' not found"),
    ("include-loop", {"r.yaml": "include: a.yaml\n" + GOOD_STEPS,
                      "a.yaml": "include: b.yaml\nseed: 1\n",
                      "b.yaml": "include: a.yaml #<\n"}, [], "include loop: a.yaml -> b.yaml -> a.yaml"),
    ("include-missing", {"r.yaml": "include: base.yaml #<\n" + GOOD_STEPS}, [],
     "include: no file 'base.yaml'"),
    ("duplicate-step-name", {"r.yaml": "steps:\n  - report: {}\n  - report: {} #<\n"}, [],
     "step name 'report' is used twice"),
    ("step-ref-wrong-kind", {"r.yaml": "steps:\n  - report: {}\n  - locate: {from: [report]} #<\n"}, [],
     "key 'from': step 'report' is a report step; expected probe or trace"),
    ("step-ref-unknown", {"r.yaml": GOOD_STEPS + "  - report:\n      name: r2\n"
                                                  "      compare: [before, after] #<\n"}, [],
     "key 'compare': no earlier step named 'before'"),
    ("step-check", {"r.yaml": "steps:\n  - trace:\n      data: lab:facts\n      target: target\n"
                               "      contrast: [a, b] #<\n"}, [],
     "give only one of target, contrast and contrast_column"),
    ("probe-bad-c", {"r.yaml": "steps:\n  - probe:\n      data: lab:age_traits\n"
                                "      label: trait_majority\n      C: best #<\n"}, [],
     "C must be a positive number, a list of them or 'auto', got 'best'"),
    ("verify-without-edit", {"r.yaml": "steps:\n  - verify: {} #<\n"}, [],
     "verify needs an earlier edit step"),
    ("bad-run-name", {"r.yaml": "name: my run! #<\n" + GOOD_STEPS}, [], "name 'my run!'"),
    ("unknown-suite", {"r.yaml": "steps:\n  - evaluate:\n      suites: [lab:gender_bias, crowspairs] #<\n"},
     [], "unknown suite 'crowspairs' (did you mean 'crows_pairs'?)"),
    ("unknown-threshold", {"r.yaml": "steps:\n  - edit: {requests: lab:facts}\n  - verify:\n"
                                      "      thresholds:\n        localty: 0.9 #<\n"}, [],
     "unknown threshold 'localty' (did you mean 'locality'?)"),
    ("unknown-edit-method", {"r.yaml": "steps:\n  - edit:\n      requests: lab:facts\n"
                                        "      method: rom #<\n"}, [], "unknown editing method 'rom'"),
    ("unknown-edit-config", {"r.yaml": "steps:\n  - edit:\n      requests: lab:facts\n      config:\n"
                                        "        v_lrr: 0.1 #<\n"}, [],
     "unknown key 'config.v_lrr' (did you mean 'config.v_lr'?)"),
    ("override-missing-key", {"r.yaml": GOOD_STEPS}, ["model.idd=lab-tiny"],
     "unknown key 'model.idd' (did you mean 'model.id'?)"),
    ("override-missing-step", {"r.yaml": GOOD_STEPS}, ["steps.probes.limit=3"],
     "no step named 'probes' (did you mean 'probe'?)"),
    ("override-missing-param", {"r.yaml": GOOD_STEPS}, ["steps.probe.limt=3"],
     "step 'probe': unknown key 'limt' (did you mean 'limit'?)"),
    ("override-no-equals", {"r.yaml": GOOD_STEPS}, ["seed"], "expected KEY.PATH=VALUE"),
    ("override-through-scalar", {"r.yaml": "seed: 0\n" + GOOD_STEPS}, ["seed.x=1"],
     "'seed' is not a mapping (it is 0), so it has no key 'x'"),
    ("override-new-mapping", {"r.yaml": GOOD_STEPS}, ["seed.x=1"], "key 'seed': expected int, got mapping"),
    ("override-wrong-type", {"r.yaml": GOOD_STEPS}, ["steps.trace.samples=many"],
     "key 'samples': expected int, got str 'many'"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _expected_location(files: dict[str, str], overrides: list[str]) -> str:
    for name, text in files.items():
        for i, line in enumerate(text.splitlines(), 1):
            if "#<" in line:
                return f"{name}:{i}"
    return f"--set {overrides[-1]}"


def test_at_least_25_cases():
    assert len(CASES) >= 25
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("files", "overrides", "fragment"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_malformed_recipe(workdir, capsys, command, files, overrides, fragment):
    for name, text in files.items():
        (workdir / name).write_text(textwrap.dedent(text), encoding="utf-8")
    args = [command, "r.yaml", *[a for o in overrides for a in ("--set", o)]]
    if command == "run":
        args += ["--out", "out"]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    where = _expected_location(files, overrides)
    assert lines[0].startswith(f"error: {where}: "), (lines[0], where)
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in err
    assert not (workdir / "out").exists() and not (workdir / "runs").exists()


def test_line_numbers_follow_includes(workdir, capsys):
    """An error in an included file names that file and its line."""
    (workdir / "base.yaml").write_text("model:\n  id: lab\n  dtyp: float32\n", encoding="utf-8")
    (workdir / "r.yaml").write_text("include: base.yaml\n" + GOOD_STEPS, encoding="utf-8")
    assert main(["validate", "r.yaml"]) == 2
    assert re.match(r"error: base\.yaml:3: unknown key 'model\.dtyp' \(did you mean 'model\.dtype'\?\)",
                    capsys.readouterr().err)
