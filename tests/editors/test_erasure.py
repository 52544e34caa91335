"""LEACE: guardedness, least squares, rank-deficient data, folding into weights, the lab."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from biaskit.editors.erasure import (
    ErasureResult,
    apply_erasers,
    class_mean_gap,
    erase,
    fit_leace,
    fold_deltas,
)
from biaskit.errors import ConfigError, DataError


def _data(n=600, d=10, k=2, seed=0, imbalance=0.7):
    """Correlated Gaussian features whose class means differ along a random direction each."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d))
    p = [imbalance] + [(1 - imbalance) / (k - 1)] * (k - 1)
    z = rng.choice(k, size=n, p=p)
    shifts = rng.normal(size=(k, d)) * 1.5
    X = rng.normal(size=(n, d)) @ mix + shifts[z] + 3.0
    return X, z


def _majority(z):
    return np.bincount(z).max() / len(z)


@pytest.mark.parametrize("k", [2, 3])
def test_leace_equalises_class_means_and_defeats_logistic_regression(k):
    X, z = _data(k=k)
    before = LogisticRegression(max_iter=5000).fit(X, z).score(X, z)
    assert before > _majority(z) + 0.1  # the concept is there to begin with
    eraser = fit_leace(X, z)
    assert eraser.rank == k - 1 and eraser.classes == tuple(range(k))
    Xe = eraser(torch.as_tensor(X)).numpy()
    scale = np.linalg.norm(X - X.mean(0), axis=1).mean()
    for c in range(k):
        assert np.linalg.norm(Xe[z == c].mean(0) - Xe.mean(0)) < 1e-6 * scale
    cross = (Xe - Xe.mean(0)).T @ (np.eye(k)[z] - np.eye(k)[z].mean(0)) / len(z)
    assert np.abs(cross).max() < 1e-9 * scale
    # The optimum of a (regularised, convex) logistic loss on guarded data is w = 0: the
    # fitted classifier predicts the majority class for every row.
    clf = LogisticRegression(max_iter=10000, tol=1e-10).fit(Xe, z)
    assert clf.score(Xe, z) == pytest.approx(_majority(z))
    assert np.abs(clf.coef_).max() < 1e-4


def test_leace_changes_x_least_among_guarding_erasers():
    X, z = _data(d=8, seed=1)
    Xt = torch.as_tensor(X)
    eraser = fit_leace(X, z)
    leace = float(((eraser(Xt) - Xt) ** 2).sum(1).mean())
    mu = X.mean(0)
    delta = X[z == 1].mean(0) - X[z == 0].mean(0)
    u = delta / np.linalg.norm(delta)
    # Plain orthogonal projection of the class-mean difference: also guards, moves more.
    ortho = X - np.outer((X - mu) @ u, u)
    assert class_mean_gap(ortho, z) < 1e-8 * np.linalg.norm(delta)
    assert leace <= float((((ortho - X) ** 2).sum(1)).mean()) + 1e-9
    # Any oblique rank-one eraser x - u a^T (x - mu) / (a^T u) guards; none beats LEACE.
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.normal(size=X.shape[1])
        moved = np.outer((X - mu) @ a / (a @ u), u)
        assert class_mean_gap(X - moved, z) < 1e-6 * np.linalg.norm(delta)
        assert leace <= float((moved ** 2).sum(1).mean()) + 1e-9
    # Q is an (oblique) projection of rank one.
    q = eraser.proj
    assert torch.allclose(q @ q, q, atol=1e-10) and int(torch.linalg.matrix_rank(q)) == 1


def test_isotropic_data_gives_the_orthogonal_projection():
    """With identity covariance LEACE is the orthogonal projection onto the cross-covariance."""
    X, z = _data(d=6, seed=2)
    Xc = X - X.mean(0)
    evals, evecs = np.linalg.eigh(Xc.T @ Xc / len(X))
    white = Xc @ evecs @ np.diag(evals ** -0.5) @ evecs.T  # exactly identity covariance
    eraser = fit_leace(white, z)
    cross = white.T @ (z - z.mean()) / len(z)
    u = cross / np.linalg.norm(cross)
    assert np.allclose(eraser.proj.numpy(), np.outer(u, u), atol=1e-10)


def test_rank_deficient_covariance_and_float_inputs():
    rng = np.random.default_rng(3)
    n, d = 30, 50  # fewer rows than dimensions
    z = np.array([0, 1] * (n // 2))
    X = rng.normal(size=(n, d)) + np.outer(z, rng.normal(size=d))
    X[:, 7] = 2.5  # a dead unit
    X[:, 8] = 2 * X[:, 9]  # an exact dependency
    eraser = fit_leace(X.astype(np.float32), list(map(str, z)))
    assert torch.isfinite(eraser.proj).all() and eraser.rank == 1
    Xe = eraser(torch.as_tensor(X))
    assert class_mean_gap(Xe, z) < 1e-6 * class_mean_gap(X, z)
    # Soft / explicit label matrices are accepted as Z.
    soft = fit_leace(X, np.eye(2)[z].astype(np.float64))
    assert torch.allclose(soft.proj, eraser.proj, atol=1e-6)


def test_shrinkage_keeps_guardedness_and_tends_to_the_orthogonal_projection():
    X, z = _data(d=8, seed=4)
    for shrinkage in (0.1, 1.0):
        e = fit_leace(X, z, shrinkage=shrinkage)
        assert class_mean_gap(e(torch.as_tensor(X)), z) < 1e-8 * class_mean_gap(X, z)
    far = fit_leace(X, z, shrinkage=1e9).proj.numpy()
    cross = (X - X.mean(0)).T @ (z - z.mean()) / len(z)
    u = cross / np.linalg.norm(cross)
    assert np.allclose(far, np.outer(u, u), atol=1e-6)
    assert torch.linalg.matrix_norm(fit_leace(X, z, shrinkage=0.1).proj, 2) <= \
        torch.linalg.matrix_norm(fit_leace(X, z).proj, 2) + 1e-9


def test_bad_inputs_are_clear_errors():
    X, z = _data(n=20)
    with pytest.raises(DataError, match="two classes"):
        fit_leace(X, np.zeros(20, dtype=int))
    with pytest.raises(DataError, match="labels for"):
        fit_leace(X, z[:10])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        fit_leace(bad, z)
    with pytest.raises(ConfigError):
        fit_leace(X, z, shrinkage=-1)
    with pytest.raises(DataError, match="width"):
        fit_leace(X, z)(torch.zeros(3, 4))


# -- folding into a model ---------------------------------------------------------------

TEXTS = [f"{w} number {i} went to the market" for i in range(12) for w in ("alpha", "beta")]
LABELS = ["a", "b"] * 12


def _logits(model, texts):
    enc = model.tokenizer(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        return model.hf(**enc).logits


def _mlp_out(model, layer, texts):
    from biaskit.activations import capture

    acts = capture(model, texts, layers=[layer], sites=("mlp_out",), positions="all",
                   dtype=torch.float32, progress=False)
    return acts.layer(layer, "mlp_out")


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_folded_weights_equal_the_eraser_applied_by_hook(model_type):
    """gpt2 (Conv1D with bias): fold == r(y) exactly; llama (no bias): fold == r(y) - Q mu."""
    from biaskit.models.tiny import tiny_model

    model = tiny_model(model_type, seed=0)
    model.hf.eval()
    layer = 1
    eraser = fit_leace(_mlp_out(model, layer, TEXTS), [lab for lab, t in zip(LABELS, TEXTS, strict=True)
                                                        for _ in model.tokenizer(t)["input_ids"]])
    with_bias = model_type == "gpt2"
    offset = torch.zeros(0) if with_bias else eraser.offset

    def hook(_m, _a, out):
        y = out[0] if isinstance(out, tuple) else out
        erased = eraser(y) if with_bias else eraser(y) - offset.to(y.dtype)
        return (erased, *out[1:]) if isinstance(out, tuple) else erased

    module, _ = model.site_module("mlp_out", layer)
    handle = module.register_forward_hook(hook)
    try:
        hooked = _logits(model, TEXTS[:4])
    finally:
        handle.remove()
    plain = _logits(model, TEXTS[:4])
    result = apply_erasers(model, {layer: eraser})
    folded = _logits(model, TEXTS[:4])
    assert (hooked - plain).abs().max() > 1e-3  # the erasure does something
    assert torch.allclose(folded, hooked, atol=1e-5, rtol=1e-5)
    assert set(fold_deltas(model, layer, eraser)) == set(result.deltas)
    assert any(n.endswith(".bias") for n in result.deltas) == with_bias
    result.restore()
    assert torch.equal(_logits(model, TEXTS[:4]), plain)


def test_erase_guards_every_layer_without_bias_and_round_trips(tmp_path):
    from biaskit.editors.result import apply_saved
    from biaskit.models.tiny import tiny_model

    model = tiny_model("llama", seed=0)
    before = model.fingerprint()
    result = erase(model, TEXTS, LABELS, layers=[1, 2], positions="last", label="word")
    assert isinstance(result, ErasureResult) and result.method == "erasure"
    assert result.layers == (1, 2) and result.config.classes == ("a", "b")
    for row in result.checks:
        assert row["rank"] == 1 and row["bias_folded"] is False and row["dropped_offset_norm"] > 0
        assert row["relative_gap"] < 1e-5  # measured by capturing the edited model again
    assert {r["layer"] for r in result.checks} == {1, 2}
    # Guardedness holds at the last tokens, where it was fitted (recomputed independently).
    from biaskit.activations import capture

    acts = capture(model, TEXTS, layers=[1, 2], sites=("mlp_out",), positions="last",
                   dtype=torch.float32, progress=False)
    for layer in (1, 2):
        X = acts.layer(layer, "mlp_out")
        assert class_mean_gap(X, LABELS) < 1e-5 * X.norm(dim=1).mean()
    folder = result.save(tmp_path / "erase")
    assert (folder / "erasure.json").exists() and (folder / "erasers.safetensors").exists()
    after = model.fingerprint()
    result.restore()
    assert model.fingerprint() == before
    again = apply_saved(model, folder)
    assert again.method == "erasure" and model.fingerprint() == after
    again.restore()


def test_erase_errors():
    from biaskit.errors import LayerError
    from biaskit.models.tiny import tiny_model

    model = tiny_model("llama", seed=0)
    with pytest.raises(DataError, match="two classes"):
        erase(model, TEXTS, ["a"] * len(TEXTS), layers=1)
    with pytest.raises(DataError, match="labels for"):
        erase(model, TEXTS, LABELS[:3], layers=1)
    with pytest.raises(LayerError):
        erase(model, TEXTS, LABELS, layers=9)


# -- the lab: the verified criterion --------------------------------------------

COUNTRY_RELATIONS = ("capital", "language", "currency", "region")


def _contexted(rows, facts, half, k, seed=0):
    """Each prompt after one of k gender-free country facts of its language, per half.

    Both halves hold every profession x template x language prompt; they differ in the
    sentence before it. The eraser is fitted on one half and a fresh probe is trained
    and tested on the other: texts it never saw, from the same distribution.
    """
    rng = np.random.default_rng(seed)
    by_lang = {}
    for f in facts:
        by_lang.setdefault(f["language"], []).append(f'{f["text"]} {f["target"]}.')
    by_lang = {lang: list(rng.permutation(s)) for lang, s in by_lang.items()}
    return [{**r, "text": f"{c} {r['text']}"} for r in rows
            for c in by_lang[r["language"]][half * k:(half + 1) * k]]


def _probe_accuracy(model, rows, label, layer):
    from biaskit.activations import capture
    from biaskit.probes.layers import probe_layers

    acts = capture(model, [r["text"] for r in rows], layers=[layer], sites=("mlp_out",),
                   positions="last", records=rows, dtype=torch.float32, progress=False)
    rec = probe_layers(acts, label, cv=3, control=False, progress=False).records[0]
    return rec["accuracy"], rec["baseline"]


def _perplexity(model, texts):
    from biaskit.scoring import sentence_logprobs

    sums, counts = sentence_logprobs(model, texts)
    return float(torch.exp(-sums.sum() / counts.sum()))


def test_lab_erasure_at_the_located_layer_removes_gender_and_keeps_the_rest(lab_tiny, lab_tiny_model):
    from biaskit.activations import capture
    from biaskit.lab import load_lab_dataset
    from biaskit.probes.layers import probe_layers

    model = lab_tiny_model
    prompts = [r for r in load_lab_dataset("gender_professions", preset="lab-tiny")
               if r["gender"] in ("female", "male")]
    facts = [r for r in load_lab_dataset("facts", preset="lab-tiny")
             if r["relation"] in COUNTRY_RELATIONS]
    fit, held = _contexted(prompts, facts, 0, 4), _contexted(prompts, facts, 1, 4)
    neutral = [r["text"] for r in load_lab_dataset("neutral", preset="lab-tiny")]
    # Locate: the layer whose MLP output best encodes gender at the pronoun's position.
    acts = capture(model, [r["text"] for r in fit], layers="all", sites=("mlp_out",),
                   positions="last", records=fit, dtype=torch.float32, progress=False)
    layer = probe_layers(acts, "gender", cv=3, control=False, progress=False).best_layer
    gender_before, baseline = _probe_accuracy(model, held, "gender", layer)
    language_before, _ = _probe_accuracy(model, held, "language", layer)
    ppl_before, fingerprint = _perplexity(model, neutral), model.fingerprint()
    result = erase(model, [r["text"] for r in fit], [r["gender"] for r in fit], layers=layer,
                   positions="last", label="gender")
    try:
        gender_after, _ = _probe_accuracy(model, held, "gender", layer)
        language_after, _ = _probe_accuracy(model, held, "language", layer)
        ppl_after = _perplexity(model, neutral)
    finally:
        result.restore()
    print(f"lab-tiny erasure at layer {layer}: gender {gender_before:.3f} -> {gender_after:.3f} "
          f"(baseline {baseline:.3f}), language {language_before:.3f} -> {language_after:.3f}, "
          f"perplexity {ppl_before:.3f} -> {ppl_after:.3f}, gap {result.checks[0]['relative_gap']:.1e}")
    assert model.fingerprint() == fingerprint
    assert result.checks[0]["relative_gap"] < 1e-4
    assert gender_before >= baseline + 0.15  # there was something to erase
    assert gender_after <= baseline + 0.05
    assert abs(language_after - language_before) <= 0.05
    assert ppl_after <= 1.10 * ppl_before
