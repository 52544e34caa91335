"""Steering: the exact vector is added where asked, hooks go away, directions, the lab."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from biaskit.editors.steer import direction_from_probe, mean_difference, steer, unit
from biaskit.errors import DataError

TEXTS = ["the cat sat on the mat", "a dog ran in the park", "birds sing at dawn today"]


def _site(model, texts, layer, site="resid", positions="all"):
    from biaskit.activations import capture

    acts = capture(model, texts, layers=[layer], sites=(site,), positions=positions,
                   dtype=torch.float32, progress=False)
    return acts.layer(layer, site)


def _hooks(module):
    return len(module._forward_hooks) + len(module._forward_pre_hooks)


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
@pytest.mark.parametrize("site", ["resid", "mlp_out", "mlp_key"])
def test_steer_adds_exactly_the_scaled_unit_vector_then_goes_away(model_type, site):
    from biaskit.models.tiny import tiny_model

    model = tiny_model(model_type, seed=0)
    layer, strength = 1, 3.0
    width = model.site_width(site)
    direction = torch.randn(width, generator=torch.Generator().manual_seed(0)) * 7
    module, _ = model.site_module(site, layer)
    hooks = _hooks(module)
    plain = _site(model, TEXTS, layer, site)
    with steer(model, direction, layer, strength, site=site) as s:
        assert _hooks(module) == hooks + 1
        steered = _site(model, TEXTS, layer, site)
        later = _site(model, TEXTS, layer + 1)
    expected = strength * direction / direction.norm()
    assert torch.allclose(s.vector, expected)
    assert torch.allclose(steered - plain, expected.expand_as(plain), atol=1e-5)
    assert not torch.allclose(later, _site(model, TEXTS, layer + 1), atol=1e-4)  # it propagates
    assert _hooks(module) == hooks
    assert torch.equal(_site(model, TEXTS, layer, site), plain)


def test_last_position_only_and_removal_on_error():
    from biaskit.models.tiny import tiny_model

    model = tiny_model("llama", seed=0)
    text = ["the same length text"]
    direction = torch.ones(model.hidden_size)
    plain = _site(model, text, 2, positions="all")
    with steer(model, direction, 2, 1.5, positions="last"):
        steered = _site(model, text, 2, positions="all")
    diff = steered - plain
    assert torch.allclose(diff[-1], 1.5 * unit(direction), atol=1e-5)
    assert diff[:-1].abs().max() == 0
    module, _ = model.site_module("resid", 2)
    with pytest.raises(RuntimeError, match="boom"), steer(model, direction, 2, 1.0):
        raise RuntimeError("boom")
    assert _hooks(module) == 0
    with pytest.raises(DataError, match="width"), steer(model, torch.ones(5), 2, 1.0):
        pass
    with pytest.raises(DataError, match="positions"), steer(model, direction, 2, 1.0, positions="some"):
        pass
    with pytest.raises(DataError, match="one vector"):
        unit(torch.ones(2, model.hidden_size))
    with pytest.raises(DataError, match="zero"):
        unit(torch.zeros(4))


def test_mean_difference_matches_the_class_means():
    from biaskit.models.tiny import tiny_model

    model = tiny_model("gpt2", seed=0)
    texts = TEXTS * 2
    labels = ["x", "y", "x", "y", "y", "x"]
    X = _site(model, texts, 1, positions="last").double()
    mask = torch.tensor([lab == "x" for lab in labels])
    got = mean_difference(model, texts, labels, 1, positive="x")
    assert torch.allclose(got.double(), X[mask].mean(0) - X[~mask].mean(0), atol=1e-5)
    assert torch.allclose(mean_difference(model, texts, labels, 1), -got, atol=1e-6)  # default "y"
    with pytest.raises(DataError, match="exactly two"):
        mean_difference(model, texts, ["a", "b", "c"] * 2, 1)
    with pytest.raises(DataError, match="not one of"):
        mean_difference(model, texts, labels, 1, positive="z")


def test_direction_from_probe_orientation():
    from biaskit.probes.report import ProbeReport

    rec = {"site": "resid", "layer": 1, "accuracy": 0.9}
    binary = ProbeReport(records=[rec], best_layer=1, best_site="resid", label="g",
                         classes=["female", "male"],
                         directions={("resid", 1): torch.tensor([[0.0, 2.0]])},
                         mean_directions={("resid", 1): torch.tensor([[1.0, 0.0]])})
    assert torch.equal(direction_from_probe(binary), torch.tensor([1.0, 0.0]))
    assert torch.equal(direction_from_probe(binary, toward="female"), torch.tensor([-1.0, 0.0]))
    assert torch.equal(direction_from_probe(binary, kind="probe"), torch.tensor([0.0, 1.0]))
    multi = ProbeReport(records=[rec], best_layer=1, best_site="resid", label="g",
                        classes=["a", "b", "c"], mean_directions={("resid", 1): torch.eye(3)})
    assert torch.equal(direction_from_probe(multi, toward="c"), torch.tensor([0.0, 0.0, 1.0]))
    with pytest.raises(DataError, match="say which one"):
        direction_from_probe(multi)
    with pytest.raises(DataError, match="not one of"):
        direction_from_probe(binary, toward="other")


def test_lab_steering_towards_she_raises_her_share_monotonically(lab_tiny, lab_tiny_model):
    from biaskit.lab import load_lab_dataset
    from biaskit.scoring import continuation_logprobs

    model = lab_tiny_model
    rows = load_lab_dataset("gender_professions", preset="lab-tiny")
    gendered = [r for r in rows if r["gender"] in ("female", "male")]
    layer = model.n_layers - 2
    she_minus_he = mean_difference(model, [r["text"] for r in gendered],
                                   [r["gender"] for r in gendered], layer, positive="female")
    prompts = [r["text"] for r in rows]

    def share():
        she = continuation_logprobs(model, prompts, [r["targets"][0] for r in rows])
        he = continuation_logprobs(model, prompts, [r["targets"][1] for r in rows])
        return float(torch.sigmoid(she - he).mean())  # P(she) / (P(she) + P(he))

    module, _ = model.site_module("resid", layer)
    hooks, base = _hooks(module), share()
    scale = float(she_minus_he.norm())
    shares = []
    for strength in (0.0, 0.5, 1.0, 2.0):
        with steer(model, she_minus_he, layer, strength * scale):
            shares.append(share())
    towards_he = steer(model, she_minus_he, layer, -scale)
    with towards_he:
        he_share = share()
    print(f"lab-tiny steering at layer {layer}: P(she) share {np.round(shares, 3).tolist()}, "
          f"strength -1: {he_share:.3f}")
    assert shares[0] == pytest.approx(base, abs=1e-9)
    assert all(b > a + 0.01 for a, b in zip(shares, shares[1:], strict=False))
    assert he_share < base - 0.01
    assert _hooks(module) == hooks and share() == pytest.approx(base, abs=1e-9)
