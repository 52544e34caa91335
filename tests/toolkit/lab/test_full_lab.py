"""The full `lab` preset: tighter tolerances. Slow (about 1.5 min); opt in with
BIASKIT_TEST_FULL_LAB=1.
"""

from __future__ import annotations

import json
import os

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("BIASKIT_TEST_FULL_LAB"),
                                reason="builds the full lab; set BIASKIT_TEST_FULL_LAB=1")

# lab trains 3x longer than lab-tiny on twice the subjects; observed max error 0.10.
PAIR_TOL, AXIS_MAE = 0.15, 0.05


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from biaskit.lab import build_lab

    return build_lab("lab", out=tmp_path_factory.mktemp("lab") / "lab", progress=False)


def test_full_lab_learns_planted_strengths(lab):
    for axis, stats in lab.metrics["association_mae"].items():
        assert stats["mae"] <= AXIS_MAE, (axis, stats)
        assert stats["max_abs_error"] <= PAIR_TOL, (axis, stats)


def test_full_lab_recalls_every_fact(lab):
    for relation, score in lab.metrics["fact_recall"].items():
        assert score["rank1"] >= 0.97, (relation, score)


def test_full_lab_build_time_is_recorded_and_reasonable(lab):
    assert lab.metrics["timing"]["total"] < 240  # 120 s target on 2 idle cores


def test_full_lab_person_facts_go_through_the_subject(lab):
    from biaskit.lab import mlp_knockout

    model, tok = lab.load()
    rows = [json.loads(line) for line in open(lab.dataset_path("facts"), encoding="utf-8")]
    people = [r for r in rows if r["relation"] in ("sport", "birthplace")]
    best = max(mlp_knockout(model, tok, people, layers=[0, 1, 2]),
               key=lambda r: r["subject_drop"])
    assert best["subject_drop"] >= 1.0 and best["subject_flip"] >= 0.3, best
    assert best["subject_drop"] >= 10 * max(best["control_drop"], 0.01), best
