"""Embedding analysis: separation metrics by hand and against scikit-learn, maps, lab-tiny."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from biaskit.analysis.embeddings import (
    EmbeddingConfig,
    analyse_embeddings,
    embed_texts,
    embedding_analysis,
)
from biaskit.analysis.embeddings_metrics import (
    SeparationConfig,
    cosine_distances,
    knn_values,
    nearest_neighbours,
    separation,
    silhouette_values,
)
from biaskit.analysis.embeddings_reduce import ReductionConfig, reduce
from biaskit.errors import ConfigError, DataError


def _unit(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


# ---------------------------------------------------------------- metrics by hand


def test_silhouette_and_knn_on_four_points_by_hand():
    # A = {0°, 90°}, B = {180°, 270°}: cosine distances are 1 between neighbours on the
    # circle and 2 between opposite points.
    x = np.array([_unit(0), _unit(90), _unit(180), _unit(270)])
    codes = np.array([0, 0, 1, 1])
    dist = cosine_distances(x)
    assert np.allclose(dist, [[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1], [1, 2, 1, 0]])
    # each point: a = 1 (its partner), b = mean(2, 1) = 1.5 -> s = 0.5 / 1.5 = 1/3
    assert np.allclose(silhouette_values(dist, codes), 1 / 3)
    # k = 2: both neighbours at distance 1, one of each group -> raw 1/2; chance per point
    # (2 - 1) / (4 - 1) = 1/3 -> corrected (1/2 - 1/3) / (1 - 1/3) = 1/4
    raw, adjusted = knn_values(nearest_neighbours(dist, 2), codes)
    assert np.allclose(raw, 0.5) and np.allclose(adjusted, 0.25)


def test_knn_purity_on_five_points_by_hand():
    # A at 0°, 10°, 20°; B at 90°, 100°. k = 2.
    x = np.array([_unit(a) for a in (0, 10, 20, 90, 100)])
    codes = np.array([0, 0, 0, 1, 1])
    nn = nearest_neighbours(cosine_distances(x), 2)
    assert [sorted(r) for r in nn.tolist()] == [[1, 2], [0, 2], [0, 1], [2, 4], [2, 3]]
    raw, adjusted = knn_values(nn, codes)
    assert np.allclose(raw, [1, 1, 1, 0.5, 0.5])
    expected = np.array([0.5, 0.5, 0.5, 0.25, 0.25])  # (n_g - 1) / (n - 1)
    assert np.allclose(adjusted, (raw - expected) / 0.6)  # 1 - mean(expected) = 0.6
    assert adjusted.mean() == pytest.approx((0.8 - 0.4) / 0.6)


@pytest.mark.parametrize("groups", [2, 3, 5])
def test_silhouette_matches_sklearn(groups):
    from sklearn.metrics import silhouette_samples, silhouette_score

    rng = np.random.default_rng(groups)
    x = rng.normal(size=(70, 12))
    codes = rng.integers(0, groups, 70)
    codes[0] = groups  # a group of one text: silhouette 0 by convention, as in sklearn
    x[codes == 1] += 0.8
    ours = silhouette_values(cosine_distances(x), codes)
    assert np.allclose(ours, silhouette_samples(x, codes, metric="cosine"), atol=1e-10)
    assert ours.mean() == pytest.approx(silhouette_score(x, codes, metric="cosine"), abs=1e-10)
    assert ours[0] == 0.0


def test_knn_matches_sklearn_neighbours():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 6))
    ours = nearest_neighbours(cosine_distances(x), 5)
    ref = NearestNeighbors(n_neighbors=6, metric="cosine").fit(x).kneighbors(x)[1][:, 1:]
    assert [set(r) for r in ours.tolist()] == [set(r) for r in ref.tolist()]


def test_separation_is_high_for_planted_groups_and_null_near_zero():
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 60)
    noise = rng.normal(size=(120, 32))
    planted = noise.copy()
    planted[y == "a", :4] += 2.5
    cfg = SeparationConfig(n_boot=300, null_repeats=20)
    sig = {r["metric"]: r for r in separation(planted, y, cfg, seed=0)}
    flat = {r["metric"]: r for r in separation(noise, y, cfg, seed=0)}
    for m in ("silhouette", "knn_purity"):
        r = sig[m]
        assert r["ci_low"] <= r["value"] <= r["ci_high"]
        assert r["ci_low"] > r["null_high"] and r["p_value"] < 0.06
        assert abs(r["null_mean"]) < 0.05  # the null sits near 0
        assert abs(flat[m]["value"]) < 0.1 and flat[m]["null_low"] <= flat[m]["value"] + 0.05
    assert sig["knn_purity_raw"]["null_mean"] == pytest.approx(59 / 119, abs=0.05)  # chance
    assert {r["n"] for r in sig.values()} == {120} and sig["silhouette"]["groups"] == 2


def test_clusters_keep_a_cluster_effect_from_passing_as_a_group_effect():
    # 12 tight clusters (say, 12 respondents), label constant within each but unrelated to
    # where the clusters sit: neighbours are cluster-mates, so a text-level null is fooled.
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(12, 16))
    cluster = np.repeat(np.arange(12), 6)
    x = centres[cluster] + 0.05 * rng.normal(size=(72, 16))
    labels = np.where(cluster % 2 == 0, "a", "b")
    cfg = SeparationConfig(k=5, n_boot=200, null_repeats=40)
    naive = {r["metric"]: r for r in separation(x, labels, cfg)}
    fair = {r["metric"]: r for r in separation(x, labels, cfg, clusters=cluster)}
    assert naive["knn_purity"]["value"] > 0.9 and naive["knn_purity"]["p_value"] < 0.05
    assert fair["knn_purity"]["value"] == naive["knn_purity"]["value"]
    assert fair["knn_purity"]["p_value"] > 0.1 and fair["knn_purity"]["null_mean"] > 0.9
    assert fair["silhouette"]["p_value"] > 0.1 and fair["silhouette"]["clusters"] == 12
    assert fair["knn_purity"]["ci_high"] - fair["knn_purity"]["ci_low"] >= 0  # cluster bootstrap


def test_separation_errors_and_no_ci():
    x = np.random.default_rng(0).normal(size=(6, 3))
    with pytest.raises(DataError, match="two groups"):
        separation(x, ["a"] * 6)
    with pytest.raises(DataError, match="shape"):
        separation(x, ["a", "b"] * 4)
    rows = separation(x, ["a", "b"] * 3, SeparationConfig(n_boot=0, null_repeats=0))
    assert all(math.isnan(r["ci_low"]) and math.isnan(r["null_mean"]) for r in rows)


# ---------------------------------------------------------------- maps


def test_reductions_are_seeded_and_shaped():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 16)).astype(np.float32)
    pca = reduce(x, "pca")
    ref = PCA(n_components=2).fit_transform(x)
    assert pca.shape == (40, 2) and np.allclose(np.abs(pca), np.abs(ref), atol=1e-4)
    cfg = ReductionConfig(tsne_max_iter=250, pca_before=8)
    a, b = reduce(x, "tsne", cfg), reduce(x, "tsne", cfg)
    assert a.shape == (40, 2) and np.array_equal(a, b)
    with pytest.raises(ConfigError, match="unknown reduction"):
        reduce(x, "mds")
    with pytest.raises(DataError, match="at least"):
        reduce(x[:3], "pca")


def test_umap_is_seeded():
    pytest.importorskip("umap")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 8)).astype(np.float32)
    cfg = ReductionConfig(umap_n_neighbors=5)
    a, b = reduce(x, "umap", cfg), reduce(x, "umap", cfg)
    assert a.shape == (30, 2) and np.allclose(a, b)


# ---------------------------------------------------------------- reports


def test_analyse_embeddings_report_and_files(tmp_path):
    rng = np.random.default_rng(0)
    labels = ["x"] * 20 + ["y"] * 20
    emb = rng.normal(size=(40, 3, 8)).astype(np.float32)
    emb[:20, 2, 0] += 4.0  # only layer 7 (slot 2) separates
    cfg = EmbeddingConfig(methods=("pca",), reduce_layers=(5, 7),
                          separation=SeparationConfig(n_boot=100, null_repeats=5))
    report = analyse_embeddings({"base": emb}, [3, 5, 7], labels, label="grp",
                                ids=[f"t{i}" for i in range(40)], config=cfg)
    assert report.best_layer() == 7 and report.layers == (3, 5, 7)
    assert len(report.metrics) == 3 * 3 and len(report.coordinates) == 2 * 40
    report.save(tmp_path)
    with open(tmp_path / "embedding_coordinates.csv", newline="") as fh:
        coords = list(csv.DictReader(fh))
    assert list(coords[0]) == ["id", "variant", "layer", "method", "x", "y", "label"]
    assert {c["layer"] for c in coords} == {"5", "7"} and coords[0]["id"] == "t0"
    with open(tmp_path / "embedding_metrics.csv", newline="") as fh:
        metrics = list(csv.DictReader(fh))
    assert {m["metric"] for m in metrics} == {"silhouette", "knn_purity", "knn_purity_raw"}
    saved = json.loads((tmp_path / "embeddings.json").read_text())
    assert saved["label"] == "grp" and saved["groups"] == ["x", "y"]
    for name in ("embedding_separation.png", "embedding_map_pca.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_config_is_checked():
    with pytest.raises(ConfigError, match="pooling"):
        EmbeddingConfig(pooling="max")
    with pytest.raises(ConfigError, match="unknown reduction"):
        EmbeddingConfig(methods=("pca", "lda"))


def test_mean_pooling_matches_a_plain_forward_pass():
    from biaskit.models.tiny import tiny_model

    model = tiny_model("llama", seed=0)
    texts = ["ab", "a much longer text than the first"]
    layers, x = embed_texts(model, texts, layers=[0, 2], pooling="mean", progress=False)
    assert layers == (0, 2) and x.shape == (2, 2, 64)
    for i, t in enumerate(texts):
        ids = torch.tensor([model.tokenizer(t)["input_ids"]])
        with torch.no_grad():
            hidden = model.hf(ids, output_hidden_states=True).hidden_states
        for slot, layer in enumerate(layers):
            ref = hidden[layer + 1][0].mean(dim=0).numpy()
            assert np.allclose(x[i, slot], ref, atol=1e-4)


def test_variants_change_only_the_layers_they_edit(tmp_path):
    from biaskit.analysis.embeddings import embed_variants
    from biaskit.editors.result import apply_deltas
    from biaskit.models.tiny import tiny_model
    from biaskit.models.variants import Variant

    model = tiny_model("llama", seed=0)
    before = model.fingerprint()
    module = model.rewrite_module(1)
    name = next(n for n, m in model.hf.named_modules() if m is module) + ".weight"
    result = apply_deltas(model, {name: 0.5 * torch.randn_like(module.weight)}, method="test")
    folder = result.save(tmp_path / "edit")
    result.restore()
    texts = [f"text number {i}" for i in range(12)]
    variants = [Variant("base"), Variant("edited", str(folder), "edit")]
    layers, emb = embed_variants(model, texts, variants, layers=[0, 1, 2], progress=False)
    assert layers == (0, 1, 2)
    assert np.allclose(emb["base"][:, 0], emb["edited"][:, 0])  # before the edited layer
    assert not np.allclose(emb["base"][:, 1], emb["edited"][:, 1], atol=1e-3)
    assert model.fingerprint() == before  # weights restored
    cfg = EmbeddingConfig(layers=[0, 1, 2], methods=(),
                          separation=SeparationConfig(n_boot=0, null_repeats=0))
    report = embedding_analysis(model, texts, ["a", "b"] * 6, variants=variants, config=cfg,
                                progress=False)
    assert report.variants == ("base", "edited") and report.coordinates == []
    assert {r["variant"] for r in report.metrics} == {"base", "edited"}
    assert report.config["variant_specs"][1] == {"name": "edited", "path": str(folder),
                                                 "kind": "edit"}


# ---------------------------------------------------------------- lab-tiny


def test_language_separates_on_lab_tiny_above_the_shuffled_null(lab_tiny, lab_tiny_model):
    from biaskit.lab import load_lab_dataset

    rows = load_lab_dataset("gender_sentences", preset="lab-tiny")
    cfg = EmbeddingConfig(methods=("pca",), reduce_layers=(0,), max_texts=150, seed=3,
                          separation=SeparationConfig(n_boot=200, null_repeats=10))
    report = embedding_analysis(lab_tiny_model, [r["text"] for r in rows],
                                [r["language"] for r in rows], label="language", config=cfg,
                                progress=False)
    assert report.config["subsample"] == {"n_input": len(rows), "n_used": 150, "seed": 3,
                                          "max_texts": 150}
    assert report.groups == ("en", "es", "fr")
    assert report.layers == tuple(range(lab_tiny_model.n_layers))
    for layer in report.layers:
        for metric in ("silhouette", "knn_purity"):
            r = report.record(layer, metric)
            assert r["ci_low"] > r["null_high"] + 0.1, (layer, r)
            assert abs(r["null_mean"]) < 0.08, (layer, r)
        assert report.record(layer, "knn_purity")["value"] > 0.5
