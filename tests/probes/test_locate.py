"""`locate` rules on hand-made evidence where the right answer is known."""

import math
from types import SimpleNamespace

import pytest

from biaskit.errors import DataError, LayerError
from biaskit.probes.location import Location, locate


def trace_report(effects, ci_half=0.05, site="mlp_out", role="subject_last"):
    records = [{"site": site, "layer": i, "role": role, "aie": e, "ci_low": e - ci_half,
                "ci_high": e + ci_half, "n_prompts": 8, "recovered": e} for i, e in enumerate(effects)]
    return SimpleNamespace(records=records)


def probe_report(selectivities, accuracies=None):
    accuracies = accuracies or [0.9] * len(selectivities)
    records = [{"layer": i, "site": "resid", "accuracy": a, "selectivity": s}
               for i, (s, a) in enumerate(zip(selectivities, accuracies, strict=True))]
    return SimpleNamespace(records=records, best_site="resid")


def test_trace_decides_when_probe_disagrees():
    # probe selectivity peaks at layer 5, causal effect peaks at layer 2
    loc = locate(probe_report([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
                 trace_report([0.0, 0.2, 0.6, 0.3, 0.1, 0.0]))
    assert loc.layer == 2 and loc.bias_carrying is True
    assert loc.ranking[0]["layer"] == 2
    assert "layer 2" in loc.reason and "selectivity 0.30" in loc.reason
    assert "MLP indirect effect 0.6 " in loc.reason


def test_probe_only_is_not_evidence_of_use():
    loc = locate(probe_report([0.1, 0.5, 0.2, 0.1]))
    assert loc.layer == 1 and loc.bias_carrying is None
    assert "does not show that the model uses it" in " ".join(loc.notes)


def test_effect_within_noise_is_not_bias_carrying():
    """A decodable control attribute whose causal effect CI includes 0."""
    loc = locate(probe_report([0.4, 0.6, 0.5, 0.4]), trace_report([0.01, 0.02, 0.015, 0.0], ci_half=0.05))
    assert loc.bias_carrying is False
    assert "within noise" in " ".join(loc.notes)


def test_window_for_memit_covers_the_strongest_run():
    loc = locate(trace=trace_report([0.0, 0.1, 0.5, 0.6, 0.55, 0.1, 0.0, 0.0]), span=3)
    assert loc.layer == 3 and loc.layers == [2, 3, 4]
    assert len(locate(trace=trace_report([0.1] * 12 + [0.9] + [0.1] * 3)).layers) == 4  # depth / 4


def test_user_override_and_range_checks():
    t = trace_report([0.0, 0.5, 0.1, 0.0])
    loc = locate(trace=t, layer=3, layers=[2, 3])
    assert loc.layer == 3 and loc.layers == [2, 3] and "chosen by the user" in loc.reason
    with pytest.raises(LayerError, match="out of range"):
        locate(trace=t, layer=9)
    with pytest.raises(DataError, match="needs a probe report"):
        locate()
    with pytest.raises(DataError, match="no mlp_out effects"):
        locate(trace=trace_report([0.1, 0.2], site="resid"))


def test_single_prompt_trace_has_no_ci_so_not_claimed():
    t = trace_report([0.1, 0.4, 0.2])
    for r in t.records:
        r["ci_low"] = r["ci_high"] = math.nan
    loc = locate(trace=t)
    assert loc.bias_carrying is None and "one prompt" in " ".join(loc.notes)


def test_save_load(tmp_path):
    loc = locate(trace=trace_report([0.0, 0.5, 0.1, 0.0]))
    loc.save(tmp_path)
    assert Location.load(tmp_path) == loc
    assert (tmp_path / "location.csv").read_text().startswith("layer,")


def test_probe_without_control_task_uses_accuracy():
    report = probe_report([0.0, 0.0, 0.0], accuracies=[0.6, 0.9, 0.7])
    for r in report.records:
        r["selectivity"] = None
    loc = locate(report)
    assert loc.layer == 1 and "no control task" in loc.reason


def test_no_total_effect_means_nothing_to_locate():
    """Per-prompt orientation makes noise look positive; the total-effect guard catches it."""
    t = trace_report([0.02, 0.03, 0.01, 0.0], ci_half=0.005)  # CI excludes 0 ...
    t.prompts = [SimpleNamespace(sign=1.0, clean=0.012, corrupted=0.0, key="s")] * 8  # ... but no association
    loc = locate(trace=t)
    assert loc.bias_carrying is False
    assert "hardly depends on the subject" in loc.notes[0]
    t.prompts = [SimpleNamespace(sign=1.0, clean=0.4, corrupted=0.05, key="s")] * 8
    assert locate(trace=t).bias_carrying is True


def test_reason_quotes_the_permutation_p_when_the_probe_has_one():
    probe = probe_report([0.1, 0.5, 0.2])
    for r, pval in zip(probe.records, [0.4, 0.01, 0.2], strict=True):
        r["permutation_p"] = pval
    loc = locate(probe)
    assert "probe accuracy 0.90 (p = 0.01 against shuffled labels), selectivity 0.50" in loc.reason
    assert "p =" not in locate(probe_report([0.1, 0.5, 0.2])).reason


def test_says_when_the_effect_sits_at_an_earlier_subject_token():
    """The lab's gender x profession case: a middle piece identifies the profession."""
    last = trace_report([0.0, 0.009, 0.004, 0.0], ci_half=0.01)
    middle = trace_report([0.0, 0.42, 0.05, 0.0], ci_half=0.1, role="subject_middle")
    loc = locate(trace=SimpleNamespace(records=last.records + middle.records))
    note = " ".join(loc.notes)
    assert "sits at the subject's middle token(s), not its last one: layer 1 0.42" in note
    assert "ROME, MEMIT and AlphaEdit read their key at the subject's last token" in note
    # not said when the last token carries it, nor for an earlier effect within noise
    for other in (trace_report([0.0, 0.42, 0.1, 0.0], role="subject_middle"),
                  trace_report([0.0, 0.03, 0.0, 0.0], ci_half=0.05, role="subject_first")):
        carried = trace_report([0.0, 0.3, 0.1, 0.0])
        loc = locate(trace=SimpleNamespace(records=carried.records + other.records))
        assert "sits at the subject's" not in " ".join(loc.notes)
