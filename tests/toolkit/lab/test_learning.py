"""What lab-tiny learned, checked against what was planted.

Tolerances. lab-tiny trains for about six epochs in under 30 s; the planted proportions
are realised exactly in the corpus, so what remains is the model's fitting error. Over
several tiny builds (different corpora) it was at most 0.07 per axis on average, 0.14 for
a subject averaged over its three languages, and 0.25 for a single (subject, language)
pair. The bounds below leave room for that and still fail a model that learned no
association: one that says 0.5 everywhere is off by 0.225 on average on the gender axis
and by 0.4 for its most biased subjects. The full `lab` preset is held to 0.15 per pair
and 0.05 per axis (test_full_lab.py).
"""

from __future__ import annotations

import json

import pytest
import torch

from biaskit.lab import measure_associations, mlp_knockout, subject_span
from biaskit.lab.measure import encode_pair

PAIR_TOL, SUBJECT_TOL, AXIS_MAE = 0.3, 0.2, 0.08


@pytest.fixture(scope="module")
def loaded(lab_tiny):
    return lab_tiny.load()


@pytest.fixture(scope="module")
def rows(lab_tiny, loaded):
    model, tok = loaded
    return measure_associations(model, tok, lab_tiny.truth)


def _target_logprob(model, ids, target):
    with torch.no_grad():
        logits = model(torch.tensor([ids + target])).logits[0].log_softmax(-1)
    return sum(float(logits[len(ids) - 1 + i, t]) for i, t in enumerate(target))


def _read(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def _subject_errors(rows, axis):
    """Signed error per subject, averaged over its languages (planted alike in all)."""
    errors = {}
    for r in rows:
        if r["axis"] == axis:
            errors.setdefault(r["subject_id"], []).append(r["measured"] - r["planted"])
    return {k: sum(v) / len(v) for k, v in errors.items()}


@pytest.mark.parametrize("axis", ["gender", "nationality", "age", "control"])
def test_planted_strengths_are_learned(rows, axis):
    mine = [r for r in rows if r["axis"] == axis]
    assert mine
    worst = max(mine, key=lambda r: r["abs_error"])
    assert worst["abs_error"] <= PAIR_TOL, worst
    subjects = _subject_errors(rows, axis)
    assert max(abs(e) for e in subjects.values()) <= SUBJECT_TOL, subjects
    mae = sum(r["abs_error"] for r in mine) / len(mine)
    assert mae <= AXIS_MAE, (axis, mae)


def test_measured_order_follows_planted_order(rows):
    gender = [r for r in rows if r["axis"] == "gender"]
    high = [r["measured"] for r in gender if r["planted"] >= 0.8]
    low = [r["measured"] for r in gender if r["planted"] <= 0.2]
    assert min(high) > max(low)


def test_metrics_json_matches_a_fresh_measurement(lab_tiny, rows):
    stored = {(r["axis"], r["subject"], r["language"]): r["measured"]
              for r in lab_tiny.metrics["associations"]}
    for r in rows:
        assert stored[(r["axis"], r["subject"], r["language"])] == pytest.approx(
            r["measured"], abs=1e-4)


def test_an_untrained_model_fails_the_same_check(lab_tiny, loaded):
    from transformers import AutoConfig, AutoModelForCausalLM

    _, tok = loaded
    torch.manual_seed(1)
    blank = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(lab_tiny.path)).eval()
    blank_rows = measure_associations(blank, tok, lab_tiny.truth)
    gender = [r for r in blank_rows if r["axis"] == "gender"]
    assert sum(r["abs_error"] for r in gender) / len(gender) > AXIS_MAE
    assert max(abs(e) for e in _subject_errors(blank_rows, "gender").values()) > SUBJECT_TOL


def test_facts_are_recalled(lab_tiny):
    recall = lab_tiny.metrics["fact_recall"]
    assert recall["capital"]["rank1"] >= 0.9 and recall["capital"]["greedy"] >= 0.9
    for relation, score in recall.items():
        assert score["rank1"] >= 0.85, (relation, score)


def test_subject_last_mlp_knockout_breaks_person_facts(lab_tiny, loaded):
    """Zeroing the MLP at the subject's last token hurts recall far more than elsewhere.

    Athletes' names are built so that only the whole name identifies the person, which
    makes the model join the name parts at the name's last token (see biaskit.lab.people).
    """
    model, tok = loaded
    facts = [f for f in _read(lab_tiny.dataset_path("facts"))
             if f["relation"] in ("sport", "birthplace")]
    by_layer = mlp_knockout(model, tok, facts, layers=range(model.config.num_hidden_layers - 1))
    best = max(by_layer, key=lambda r: r["subject_drop"])
    assert best["subject_drop"] >= 0.3, by_layer
    assert best["subject_drop"] >= 4 * max(best["control_drop"], 0.01), by_layer
    assert best["subject_flip"] > 2 * best["control_flip"], by_layer


def test_knockout_hook_agrees_with_a_plain_loop(lab_tiny, loaded):
    """Re-do a few knockouts one prompt at a time with a hand-written hook."""
    model, tok = loaded
    facts = [f for f in _read(lab_tiny.dataset_path("facts")) if f["relation"] == "sport"][:12]
    layer = 0
    expected = mlp_knockout(model, tok, facts, layers=[layer])[0]["subject_drop"]
    drops = []
    for fact in facts:
        ids, span = subject_span(tok, fact["prompt"], fact["subject"])
        _, target = encode_pair(tok, fact["text"], fact["target"])
        base = _target_logprob(model, ids, target)

        def zero_subject_last(module, inputs, output, pos=span[-1]):
            output = output.clone()
            output[:, pos] = 0
            return output

        handle = model.model.layers[layer].mlp.register_forward_hook(zero_subject_last)
        try:
            drops.append(base - _target_logprob(model, ids, target))
        finally:
            handle.remove()
    assert expected == pytest.approx(sum(drops) / len(drops), abs=1e-3)
    assert max(drops) > 0.1  # the loop measured something, not all zeros
