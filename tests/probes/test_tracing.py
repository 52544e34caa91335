"""Causal tracing on tiny random models: invariants that a wrong implementation breaks."""

import pytest
import torch

from biaskit.errors import DataError, SubjectNotFoundError
from biaskit.models.tiny import tiny_model
from biaskit.positions import encode, subject_token_span
from biaskit.probes.tracing import trace
from biaskit.scoring import continuation_ids, continuation_logprobs

PROMPT = "The nurse said that "  # trailing space: the target "x" is then one byte token


@pytest.fixture(scope="module", params=["llama", "gpt2", "gptj"])
def model(request):
    return tiny_model(request.param, seed=3)


def test_clean_score_is_target_probability(model):
    report = trace(model, [PROMPT], subject="nurse", target="x", samples=2, progress=False)
    p = continuation_logprobs(model, [PROMPT], ["x"]).exp().item()
    assert report.prompts[0].clean == pytest.approx(p, rel=1e-4)
    contrast = trace(model, [PROMPT], subject="nurse", contrast=["x", "y"], samples=2, progress=False)
    q = continuation_logprobs(model, [PROMPT], ["y"]).exp().item()
    # a difference of two near-equal float32 probabilities: tolerance relative to p, not p - q
    assert contrast.prompts[0].clean == pytest.approx(p - q, abs=1e-4 * max(p, q))


def test_restoring_final_state_recovers_clean_and_prefix_changes_nothing(model):
    report = trace(model, [PROMPT], subject="nurse", target="x", samples=3,
                   sites=("resid",), progress=False)
    p = report.prompts[0]
    grid = torch.tensor(p.grids["resid"])  # [layers, tokens]
    last_layer, last_tok = grid.shape[0] - 1, len(p.tokens) - 1
    assert grid[last_layer, last_tok].item() == pytest.approx(p.clean, rel=1e-4)
    # tokens before the subject never see the noise: restoring them changes nothing
    for t in range(p.subject_tokens[0]):
        torch.testing.assert_close(grid[:, t], torch.full_like(grid[:, t], p.corrupted),
                                   rtol=1e-4, atol=1e-9)
    assert p.clean != pytest.approx(p.corrupted, rel=1e-3)  # the noise did something


def test_batched_cells_equal_naive_single_runs(model):
    """Recompute some cells one run at a time, with the same noise, and compare."""
    samples, seed, noise_scale = 2, 7, 3.0
    report = trace(model, [PROMPT], subject="nurse", target="x", samples=samples, seed=seed,
                   noise=noise_scale, window=2, progress=False)
    tok = model.tokenizer
    enc = encode(tok, [PROMPT], need_offsets=True)[0]
    subj = subject_token_span(enc, PROMPT, "nurse")
    prompt_ids, cont = continuation_ids(tok, PROMPT, "x")
    std = noise_scale * float(model.hf.get_input_embeddings().weight.detach().float().std())
    noise = torch.randn(samples, len(subj), model.hidden_size,
                        generator=torch.Generator().manual_seed(seed)) * std
    ids = torch.tensor([prompt_ids])
    clean = {}
    with torch.no_grad():
        hooks = []
        for site in ("resid", "mlp_out"):
            for layer in range(model.n_layers):
                mod, _ = model.site_module(site, layer)
                hooks.append(mod.register_forward_hook(
                    lambda _m, _i, o, k=(site, layer): clean.__setitem__(
                        k, (o[0] if isinstance(o, tuple) else o)[0].clone())))
        model.hf(ids)
        for h in hooks:
            h.remove()

    def naive(site, layers, t):
        probs = []
        for s in range(samples):
            hooks = [model.hf.get_input_embeddings().register_forward_hook(
                lambda _m, _i, o, s=s: o.index_add(1, torch.tensor(subj), noise[s:s + 1]))]
            for layer in layers:
                mod, _ = model.site_module(site, layer)

                def patch(_m, _i, o, layer=layer):
                    h = o[0] if isinstance(o, tuple) else o
                    h[0, t] = clean[(site, layer)][t]
                hooks.append(mod.register_forward_hook(patch))
            with torch.no_grad():
                logits = model.hf(ids).logits
            for h in hooks:
                h.remove()
            probs.append(torch.softmax(logits[0, -1].float(), -1)[cont[0]].item())
        return sum(probs) / samples

    p = report.prompts[0]
    last_subj = subj[-1]
    for site, layer, layers in (("resid", 1, [1]), ("mlp_out", 1, [0, 1]), ("mlp_out", 3, [2, 3])):
        assert p.grids[site][layer][last_subj] == pytest.approx(naive(site, layers, last_subj), rel=1e-4)


def test_pass_count_is_at_most_tokens_times_sites(model):
    report = trace(model, [PROMPT], subject="nurse", target="x", samples=10, progress=False)
    p = report.prompts[0]
    assert report.forward_passes <= len(p.tokens) * len(report.sites) + 2


def test_multi_token_target_uses_full_continuation(model):
    report = trace(model, [PROMPT], subject="nurse", target="she is", samples=1, progress=False)
    expected = continuation_logprobs(model, [PROMPT], ["she is"]).exp().item()
    assert report.prompts[0].clean == pytest.approx(expected, rel=1e-4)


def test_report_roundtrip_and_files(tmp_path):
    report = trace(tiny_model("llama"), [PROMPT, "People from Bolivia are "], subject=["nurse", "Bolivia"],
                   contrast=["x", "y"], samples=2, progress=False)
    report.save(tmp_path)
    for name in ("trace.json", "trace.csv", "trace_tokens.csv", "trace_average.png",
                 "trace_prompt0.png", "trace_prompt1.png"):
        assert (tmp_path / name).stat().st_size > 0
    from biaskit.probes.trace_report import TraceReport

    back = TraceReport.load(tmp_path)
    assert back.records == report.records and back.contrast
    layer, value = back.peak("mlp", "subject_last")
    assert back.effect("mlp_out")[layer] == value


@pytest.mark.parametrize("kwargs, error, message", [
    ({"subject": "doctor"}, SubjectNotFoundError, "'doctor' not found"),
    ({"target": None}, DataError, "exactly one of target or contrast"),
    ({"contrast": ["a"], "target": None}, DataError, "pair"),
    ({"target": ""}, DataError, "empty target"),
    ({"sites": ("ffn",)}, DataError, "unknown trace site"),
    ({"samples": 0}, DataError, "samples >= 1"),
    ({"bogus": 1}, DataError, "unknown trace setting"),
])
def test_bad_input(model, kwargs, error, message):
    args = {"subject": "nurse", "target": "x", "progress": False, **kwargs}
    with pytest.raises(error, match=message):
        trace(model, [PROMPT], **args)


def test_encoder_refused():
    with pytest.raises(DataError, match="needs a causal LM"):
        trace(tiny_model("bert"), [PROMPT], subject="nurse", target="x", progress=False)


def _noise_trace(clean, corrupted, subject, group=None):
    from biaskit.probes.trace_report import PromptTrace

    return PromptTrace(prompt="p", subject=subject, targets=["a", "b"], tokens=["x"],
                       subject_tokens=[0], content_tokens=[0], clean=clean, corrupted=corrupted,
                       grids={}, group=group)


def test_orientation_by_own_sign_turns_noise_into_an_effect_and_cross_fitting_does_not():
    """Subjects with nothing planted: clean - corrupted is pure noise around 0."""
    import numpy as np

    from biaskit.probes.trace_report import orientations

    rng = np.random.default_rng(0)
    prompts = [_noise_trace(float(d), 0.0, f"s{i % 20}") for i, d in enumerate(rng.normal(0, 0.1, 400))]
    own = np.mean([p.sign * p.clean for p in prompts])
    crossed = np.mean([s * p.clean for s, p in zip(orientations(prompts), prompts, strict=True)])
    assert own > 0.07  # E|N(0, 0.1)| = 0.08: noise oriented by itself looks causal
    assert abs(crossed) < 0.02


def test_orientation_follows_the_group_and_keeps_a_real_effect():
    from biaskit.probes.trace_report import orientations

    # one subject planted towards b (negative), spelled two ways (two languages)
    prompts = [_noise_trace(-0.4, 0.0, "pilot", "p1"), _noise_trace(-0.5, 0.0, "piloto", "p1"),
               _noise_trace(+0.3, 0.0, "florist", "f1"), _noise_trace(+0.6, 0.0, "florista", "f1")]
    assert orientations(prompts) == [-1.0, -1.0, 1.0, 1.0]
    lone = [_noise_trace(-0.2, 0.0, "solo")]  # nothing to cross-fit with: own sign
    assert orientations(lone) == [-1.0]


def test_groups_must_match_the_prompts(model):
    with pytest.raises(DataError, match="groups has 1 entries for 2 prompts"):
        trace(model, [PROMPT, PROMPT], subject="nurse", target="x", groups=["a"], progress=False)
