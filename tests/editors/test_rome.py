"""ROME: the rank-one algebra, W' k* = v* on real models, bad input, and the lab ground truth."""

import pytest
import torch

from biaskit.editors import rome
from biaskit.editors.config import RomeConfig
from biaskit.editors.keys import bias, weight
from biaskit.editors.requests import EditRequest
from biaskit.errors import DataError, EditError, LayerError
from biaskit.models.tiny import tiny_model

SMALL = RomeConfig(v_num_grad_steps=5, context_template_length_params=((4, 2),), mom2_adjustment=False)


def test_rank_one_update_inserts_the_pair_and_spares_c_orthogonal_keys():
    torch.manual_seed(0)
    d_out, d_key = 6, 10
    w, b = torch.randn(d_out, d_key), torch.randn(d_out)
    a = torch.randn(d_key, 40)
    c = a @ a.T / 40 + 0.1 * torch.eye(d_key)
    k, v = torch.randn(d_key), torch.randn(d_out)
    delta = rome.rank_one_update(w, b, k, v, c)
    torch.testing.assert_close((w + delta) @ k + b, v, rtol=1e-4, atol=1e-4)
    assert torch.linalg.matrix_rank(delta) == 1
    # Any key with k^T C^-1 k* = 0 keeps its output.
    u = torch.linalg.solve(c, k)
    other = torch.randn(d_key)
    other = other - (other @ u) / (u @ u) * u
    torch.testing.assert_close((w + delta) @ other, w @ other, rtol=1e-4, atol=1e-5)
    # Without statistics (C = I), the update direction is k* itself.
    plain = rome.rank_one_update(w, None, k, v, None)
    torch.testing.assert_close((w + plain) @ k, v, rtol=1e-4, atol=1e-4)
    perp = torch.randn(d_key)
    perp = perp - (perp @ k) / (k @ k) * k
    torch.testing.assert_close(plain @ perp, torch.zeros(d_out), atol=1e-5, rtol=0)


@pytest.mark.parametrize("model_type", ["llama", "gpt2"])
def test_edited_weight_maps_key_to_value(model_type):
    model = tiny_model(model_type)
    request = EditRequest(prompt="The capital of {} is", subject="Chile", target_new="Lima")
    texts = ["the river is long", "a cat sat on the mat", "we eat bread every day"] * 4
    from biaskit.editors.stats import key_second_moments

    stats = key_second_moments(model, [1], texts, use_cache=False, progress=False)
    cfg = RomeConfig(layers=(1,), v_num_grad_steps=5, context_template_length_params=((4, 3),))
    w0 = weight(model, 1)
    deltas, steps = rome.compute_steps(model, [request], cfg, stats=stats)
    assert torch.equal(weight(model, 1), w0)  # compute leaves the model alone
    (name, delta), = deltas.items()
    step = steps[0]
    new = w0 + (delta.T if model.adapter.conv1d else delta)
    b = bias(model, 1)
    torch.testing.assert_close(new @ step.key + (0 if b is None else b), step.value, rtol=1e-4, atol=1e-4)
    # A key C-orthogonal to k* keeps its output.
    u = torch.linalg.solve(stats[1].double(), step.key.double()).float()
    other = torch.randn_like(step.key)
    other = other - (other @ u) / (u @ u) * u
    torch.testing.assert_close(new @ other, w0 @ other, rtol=1e-4, atol=1e-4)


def test_apply_and_restore_are_exact():
    model = tiny_model("qwen2")
    before = {n: p.detach().clone() for n, p in model.hf.named_parameters()}
    request = EditRequest(prompt="{} plays", subject="Ana Vega", target_new="tennis")
    result = rome.apply(model, [request], RomeConfig(layers=(2,), v_num_grad_steps=3,
                                                     context_template_length_params=((3, 2),),
                                                     mom2_adjustment=False))
    assert set(result.deltas) == {"model.layers.2.mlp.down_proj.weight"}
    name = "model.layers.2.mlp.down_proj.weight"
    assert not torch.equal(model.hf.model.layers[2].mlp.down_proj.weight, before[name])
    result.restore()
    for n, p in model.hf.named_parameters():
        assert torch.equal(p, before[n]), n


def test_nan_in_the_optimisation_stops_and_leaves_the_model_untouched():
    model = tiny_model("llama")
    before = {n: p.detach().clone() for n, p in model.hf.named_parameters()}
    request = EditRequest(prompt="{} plays", subject="Ana Vega", target_new="tennis")
    with torch.no_grad():  # a NaN weight after the edited layer poisons the loss
        model.hf.model.layers[3].mlp.up_proj.weight[0, 0] = float("nan")
    before["model.layers.3.mlp.up_proj.weight"] = model.hf.model.layers[3].mlp.up_proj.weight.detach().clone()
    with pytest.raises(EditError, match="diverged"):
        rome.apply(model, [request], RomeConfig(layers=(1,), v_num_grad_steps=3,
                                                context_template_length_params=(), mom2_adjustment=False))
    for n, p in model.hf.named_parameters():
        assert torch.equal(p.nan_to_num(), before[n].nan_to_num()), n


@pytest.mark.parametrize("request_kwargs, config, error, message", [
    ({"prompt": "The capital of {} is", "subject": "Chile"}, SMALL, DataError, "target_new"),
    ({"prompt": "The capital of {} is", "subject": "Chile", "target_new": "Lima"},
     RomeConfig(layers=(7,)), LayerError, "out of range"),
    ({"prompt": "The capital of {} is", "subject": "Chile", "target_new": "Lima"},
     RomeConfig(layers=(1,), objective="equalize"), DataError, "group"),
])
def test_bad_input_is_a_clear_error(request_kwargs, config, error, message):
    model = tiny_model("llama")
    with pytest.raises(error, match=message):
        rome.apply(model, [EditRequest(**request_kwargs)], config)
    with pytest.raises(DataError, match="not found"):
        EditRequest(prompt="The capital of France is", subject="Chile", target_new="Lima")


# -- ground truth on the lab ---------------------------------------------------------------
# The lab's metrics.json records, per fact group and layer, how much zeroing the MLP output
# at the subject's last token hurts recall. ROME can only rewrite facts the model recalls
# through that site, so the tests edit the layer the knockout names, and a group the build
# does not route through the subject (drop < MEDIATED nats) is an expected failure there.

MEDIATED = 0.5


def _site(lab, facts):
    rows = [r for r in lab.metrics["knockout"] if r["facts"] == facts]
    best = max(rows, key=lambda r: r["subject_drop"])
    return best["layer"], best["subject_drop"]


def _rewrite_metrics(model, lab, relation, n, stats_cache):
    from biaskit.editors.requests import load_requests
    from biaskit.editors.stats import key_second_moments
    from biaskit.eval.edits import verify

    group = {"capital": "country", "sport": "person"}[relation]
    layer, drop = _site(lab, group)
    requests = [r for r in load_requests(lab.dataset_path("facts")) if r.id.startswith(relation + "/")][:n]
    if layer not in stats_cache:
        stats_cache.update(key_second_moments(model, [layer], "lab", n_samples=2000, progress=False))
    rows = []
    for request in requests:
        result = rome.apply(model, [request], RomeConfig(layers=(layer,)), stats=stats_cache)
        report = verify(model, [request], objective="rewrite", result=result, fluency=False)
        result.restore()
        rows.append({k: v["after"] for k, v in report.metrics().items()})
    mean = {k: sum(r[k] for r in rows if r[k] is not None) / max(1, sum(r[k] is not None for r in rows))
            for k in ("efficacy", "paraphrase", "neighbourhood", "perplexity_increase")}
    return mean, rows, layer, drop


def test_rome_rewrites_athletes_on_the_lab(lab_tiny, lab_tiny_model):
    """The lab's athletes are built to be recalled at the name's last token (docs/lab.md)."""
    mean, rows, layer, drop = _rewrite_metrics(lab_tiny_model, lab_tiny, "sport", 12, {})
    assert drop >= MEDIATED, f"this lab build does not recall athletes at the subject (drop {drop})"
    assert mean["efficacy"] == 1.0, rows
    assert mean["paraphrase"] >= 0.8, rows
    assert mean["neighbourhood"] >= 0.9, rows
    assert max(r["perplexity_increase"] for r in rows) <= 0.10, rows


def test_rome_rewrites_a_capital_on_the_lab(lab_tiny, lab_tiny_model, request):
    layer, drop = _site(lab_tiny, "country")
    if drop < MEDIATED:
        request.applymarker(pytest.mark.xfail(
            reason=f"this lab build recalls capitals mostly from the prediction position (MLP "
                   f"knockout at the subject's last token: {drop:.2f} nats at layer {layer})"))
    mean, rows, _, _ = _rewrite_metrics(lab_tiny_model, lab_tiny, "capital", 9, {})
    for row in rows:  # the bar, per edit
        assert row["efficacy"] == 1.0 and row["paraphrase"] >= 0.8, rows
        assert row["neighbourhood"] >= 0.9 and row["perplexity_increase"] <= 0.10, rows



def test_rome_rewrites_athletes_at_the_middle_layer_of_the_full_lab(lab_full, lab_full_model):
    """In `lab` block 0 is attention-only and athletes are recalled in block 1 (docs/lab.md)."""
    mean, rows, layer, drop = _rewrite_metrics(lab_full_model, lab_full, "sport", 8, {})
    assert layer == 1 and drop >= 1.0, (layer, drop)
    assert mean["efficacy"] == 1.0, rows
    assert mean["paraphrase"] >= 0.8, rows
    assert mean["neighbourhood"] >= 0.9, rows
    assert max(r["perplexity_increase"] for r in rows) <= 0.10, rows
