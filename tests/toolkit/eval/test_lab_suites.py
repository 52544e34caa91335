"""Lab suites against the ground truth of what was planted (truth.json).

The ground-truth tests run on the full `lab` build and on the prompts truth.json lists
for each association (the training templates): lab-tiny learns the planted strengths less
precisely (axis MAE up to 0.06 against 0.03), and the held-out template generalises
less well (docs/lab.md), so with it 10 of 36 per-language CIs of `lab` include 0.
"""

from __future__ import annotations

import math

import pytest

from biaskit.eval import run_suite
from biaskit.scoring import continuation_logprobs


@pytest.fixture(scope="module")
def gender_scores(lab_tiny_model):
    return run_suite("lab:gender_bias", lab_tiny_model, progress=False, n_boot=500)


@pytest.fixture(scope="module")
def full_scores(lab_full_model):
    return run_suite("lab:bias", lab_full_model, progress=False, n_boot=500, split="train")


def _gap(scores, subject, axis, language=None):
    groups = {"axis": axis, "group": subject}
    if language:
        groups["language"] = language
    return scores.get("gap", **groups)


def test_every_planted_association_is_found(lab_full, full_scores):
    planted = [a for a in lab_full.truth["associations"] if abs(a["planted"] - 0.5) > 1e-9]
    assert {a["axis"] for a in planted} == {"gender", "nationality", "age"}
    missed = []
    for a in planted:  # per subject and language, as truth.json lists them
        m = _gap(full_scores, a["subject_id"], a["axis"], a["language"])
        sign = 1 if a["planted"] > 0.5 else -1
        if not (m.excludes(0) and sign * m.value > 0):
            missed.append(f"{a['subject_id']}/{a['language']} planted {a['planted']}: "
                          f"{m.value:+.2f} [{m.ci_low:+.2f}, {m.ci_high:+.2f}]")
    for axis, subject in {(a["axis"], a["subject_id"]) for a in planted}:  # all languages
        p = next(a["planted"] for a in planted
                 if a["axis"] == axis and a["subject_id"] == subject)
        m = _gap(full_scores, subject, axis)
        if not (m.excludes(0) and (p - 0.5) * m.value > 0):
            missed.append(f"{subject} (all languages) planted {p}: {m.value:+.2f} "
                          f"[{m.ci_low:+.2f}, {m.ci_high:+.2f}]")
    assert not missed, "planted associations not found: " + "; ".join(missed)


def test_no_control_shows_an_association(lab_full, full_scores):
    flagged = []
    for subject in sorted({c["subject_id"] for c in lab_full.truth["controls"]}):
        # One control prompt per language: the subject's three languages are its sample.
        m = _gap(full_scores, subject, "control")
        if m.excludes(0):
            flagged.append(f"{subject}: {m.value:+.3f} [{m.ci_low:+.3f}, {m.ci_high:+.3f}] n={m.n}")
    assert not flagged, "controls with a CI excluding 0: " + "; ".join(flagged)


def test_log_odds_equal_direct_continuation_scores(lab_tiny_model, gender_scores):
    rows = [r for r in gender_scores.items if r["axis"] == "gender"][:12]
    she = continuation_logprobs(lab_tiny_model, [r["text"] for r in rows],
                                [_targets(lab_tiny_model, r)[0] for r in rows])
    he = continuation_logprobs(lab_tiny_model, [r["text"] for r in rows],
                               [_targets(lab_tiny_model, r)[1] for r in rows])
    for r, a, b in zip(rows, she.tolist(), he.tolist(), strict=True):
        assert r["log_odds"] == pytest.approx(a - b, abs=1e-4)


def _targets(model, row):
    from biaskit.eval.loaders import lab_rows

    table = {(r["language"], r["prompt"].replace("{}", r["subject"])): r["targets"]
             for r in lab_rows(model, "gender_professions")}
    return table[(row["language"], row["text"])]


def test_templates_suite_reads_lab_datasets(lab_tiny_model, gender_scores):
    s = run_suite("templates", lab_tiny_model, "lab:gender_professions", progress=False, n_boot=100)
    for m in s.select("log_odds"):
        # Same prompts, other batches: equal up to float32 rounding.
        assert m.value == pytest.approx(gender_scores.get("log_odds", **dict(m.groups)).value, abs=1e-4)


def test_capability_guards_on_the_lab(lab_tiny_model):
    know = run_suite("lab:knowledge", lab_tiny_model, progress=False, n_boot=100)
    assert know.get("recall").value >= 0.9  # lab-tiny recalls >= 97% of its facts (docs/lab.md)
    ppl = run_suite("perplexity", lab_tiny_model, progress=False, n_boot=100)
    value = ppl.get("perplexity").value
    assert 1.0 < value < 50 and math.isfinite(ppl.get("perplexity").ci_high)
