"""MEMIT: the closed form against a direct least-squares solve, the layer spread, the lab."""

import pytest
import torch

from biaskit.editors import memit
from biaskit.editors.config import MemitConfig
from biaskit.editors.keys import compute_keys, lookups, read_sites
from biaskit.editors.requests import EditRequest
from biaskit.editors.stats import key_second_moments
from biaskit.models.tiny import tiny_model


def test_closed_form_matches_least_squares():
    torch.manual_seed(0)
    d_out, d_key, n, lam = 5, 12, 7, 3.0
    keys, resid = torch.randn(d_key, n), torch.randn(d_out, n)
    a = torch.randn(d_key, 50)
    c = a @ a.T / 50
    got = memit.memit_update(keys, resid, c, lam)
    # min_D ||D K - R||^2 + lam tr(D C D^T) = ||D [K, sqrt(lam) L] - [R, 0]||^2 with C = L L^T.
    low = torch.linalg.cholesky(c.double())
    design = torch.cat([keys.double(), lam ** 0.5 * low], dim=1)  # [d_key, n + d_key]
    target = torch.cat([resid.double(), torch.zeros(d_out, d_key, dtype=torch.float64)], dim=1)
    want = torch.linalg.lstsq(design.T, target.T).solution.T
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-6)
    # With lam -> 0 and fewer keys than dimensions, D K -> R exactly.
    exact = memit.memit_update(keys, resid, c, 1e-8)
    torch.testing.assert_close(exact @ keys, resid, rtol=1e-3, atol=1e-3)


def _requests():
    return [EditRequest(prompt="The capital of {} is", subject="Chile", target_new="Lima"),
            EditRequest(prompt="{} plays", subject="Ana Vega", target_new="golf"),
            EditRequest(prompt="The {} said that", subject="pilot", target_new="it rains")]


@pytest.mark.parametrize("model_type", ["llama", "gpt2"])
def test_spread_writes_the_residual_over_the_layers(model_type):
    """After the edit, each layer's update solves its share: D_l K_l = share of (z - h)."""
    model = tiny_model(model_type)
    requests = _requests()
    texts = ["the river is long", "a cat sat on the mat", "we eat bread every day"] * 5
    stats = key_second_moments(model, [1, 2], texts, use_cache=False, progress=False)
    # No prefixes: the keys are then the bare prompts' keys, where h is read.
    cfg = MemitConfig(layers=(1, 2), v_num_grad_steps=6, context_template_length_params=(),
                      mom2_update_weight=1e-6)
    before = {n: p.detach().clone() for n, p in model.hf.named_parameters()}
    deltas = memit.compute(model, requests, cfg, stats=stats)
    for n, p in model.hf.named_parameters():  # compute leaves the model alone
        assert torch.equal(p, before[n]), n
    assert set(deltas) == {memit.param_name(model, 1), memit.param_name(model, 2)}
    result = memit.apply(model, requests, cfg, stats=stats)
    # With a tiny lambda and 3 keys in a 128-dim key space, the last layer writes its
    # share exactly: the residual at the top layer reaches z at the bare prompts.
    items = lookups(model, [r.prompt for r in requests], [r.subject for r in requests])
    h_after = read_sites(model, items, [2], "resid")[2]
    with result.unedited():
        from biaskit.editors.objectives import get_objective
        from biaskit.editors.rome import prepare
        from biaskit.editors.values import optimise_values

        c2, objective, prefixes = prepare(model, requests, cfg, "memit")
        z = optimise_values(model, requests, layer=2, site="resid", prefixes=prefixes, config=c2,
                            objective=get_objective("rewrite", stop=c2.v_stop_loss)).values
    torch.testing.assert_close(h_after, z, rtol=1e-2, atol=1e-2)
    result.restore()


def test_layer_update_uses_current_keys():
    """The second layer's keys are read with the first layer's update in place."""
    model = tiny_model("llama")
    requests = _requests()[:2]
    seen = []
    cfg = MemitConfig(layers=(0, 2), v_num_grad_steps=2, context_template_length_params=())

    def solve(i, layer, keys, resid):
        seen.append((layer, keys.T.clone()))
        return memit.memit_update(keys, resid, torch.eye(keys.shape[0]), 1.0)

    from biaskit.editors.objectives import get_objective

    memit.spread(model, requests, cfg, get_objective("rewrite"), [""], solve)
    plain = compute_keys(model, [r.prompt for r in requests], [r.subject for r in requests], [""], [2])[2]
    assert seen[0][0] == 0 and seen[1][0] == 2
    assert not torch.allclose(seen[1][1], plain)  # layer 0's update changed layer 2's keys


# -- ground truth on the lab (see test_rome.py for the knockout rule) ------------------------

MEDIATED = 0.5
STRONG = 0.3  # |P(she) - 0.5| of the professions whose planted bias is equalised


def _site(lab, facts):
    rows = [r for r in lab.metrics["knockout"] if r["facts"] == facts]
    best = max(rows, key=lambda r: r["subject_drop"])
    return best["layer"], best["subject_drop"]


def _neighbours(lab, n=6):
    """Unrelated facts (capitals) whose answers an equalize edit must keep."""
    from biaskit.editors.requests import Neighbour, load_requests

    facts = [r for r in load_requests(lab.dataset_path("facts")) if r.id.startswith("capital/")]
    return tuple(Neighbour(prompt=f.text, target=f.target_true) for f in facts[:n])


@pytest.mark.parametrize("method", ["rome", "memit"])
def test_equalize_gender_on_the_lab(lab_tiny, lab_tiny_model, method, request):
    import dataclasses

    from biaskit.editors import apply
    from biaskit.editors.requests import load_requests
    from biaskit.editors.stats import key_second_moments
    from biaskit.eval.edits import verify

    layer, drop = _site(lab_tiny, "profession")
    if drop < MEDIATED:
        request.applymarker(pytest.mark.xfail(
            reason=f"this lab build carries the she/he association mostly outside the "
                   f"professions' MLP at their last token (knockout {drop:.2f} nats at layer {layer})"))
    rows = load_requests(lab_tiny.dataset_path("gender_professions"))
    strong = {json_row["subject"] for json_row in _rows(lab_tiny, "gender_professions")
              if abs(json_row["strength"] - 0.5) >= STRONG}
    requests = [dataclasses.replace(r, neighbourhood=_neighbours(lab_tiny)) for r in rows
                if r.subject in strong and (method == "memit" or r.language == "en")]
    model = lab_tiny_model
    stats = key_second_moments(model, [layer], "lab", n_samples=2000, progress=False)
    extra = {"mom2_update_weight": 100.0} if method == "memit" else {}
    result = apply(model, requests, method=method, stats=stats, layers=(layer,),
                   objective="equalize", **extra)
    report = verify(model, requests, objective="equalize", result=result, fluency=False)
    result.restore()
    metrics = {k: v["after"] for k, v in report.metrics().items()}
    assert report.failures() == [], (report.table(), metrics)


def _rows(lab, name):
    import json

    with open(lab.dataset_path(name), encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_memit_many_requests_on_the_lab(lab_tiny, lab_tiny_model, request):
    """100 requests in one batch (as many as the build has distinct subjects, up to 100)."""
    import dataclasses

    from biaskit.editors.requests import load_requests
    from biaskit.editors.stats import key_second_moments
    from biaskit.eval.edits import verify

    sites = {g: _site(lab_tiny, g) for g in ("person", "country", "profession")}
    weak = {g: round(d, 2) for g, (_, d) in sites.items() if d < MEDIATED}
    if weak:
        request.applymarker(pytest.mark.xfail(
            reason=f"this lab build does not recall these fact groups at the subject's last token "
                   f"(knockout drop in nats): {weak}"))
    seen, requests = set(), []
    for r in load_requests(lab_tiny.dataset_path("facts")):
        if r.subject not in seen:  # one request per subject: one key, one new value
            seen.add(r.subject)
            requests.append(r)
    requests = requests[:100]
    edited = [r.subject for r in requests]
    # A neighbour that is itself edited in the batch is not a locality check.
    requests = [dataclasses.replace(r, neighbourhood=tuple(
        n for n in r.neighbourhood if not any(s in n.prompt for s in edited))) for r in requests]
    layer = sites["person"][0]
    model = lab_tiny_model
    stats = key_second_moments(model, [layer], "lab", n_samples=2000, progress=False)
    result = memit.apply(model, requests, MemitConfig(layers=(layer,), mom2_update_weight=100.0),
                         stats=stats)
    report = verify(model, requests, objective="rewrite", result=result, fluency=False)
    result.restore()
    metrics = {k: v["after"] for k, v in report.metrics().items()}
    assert metrics["efficacy"] >= 0.9, report.table()
    assert metrics["neighbourhood"] is None or metrics["neighbourhood"] >= 0.85, report.table()


def test_singular_system_is_an_edit_error_not_a_linalg_traceback():
    # Keys of an attention-only block (its MLP is zero) and no statistics: A = 0.
    from biaskit.editors.memit import memit_update
    from biaskit.errors import EditError

    with pytest.raises(EditError, match="singular"):
        memit_update(torch.zeros(8, 3), torch.ones(4, 3), torch.zeros(8, 8), lam=1.0)
