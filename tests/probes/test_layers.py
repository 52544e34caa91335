import math

import numpy as np
import pytest
import torch

from biaskit.errors import BiaskitError, ConfigError, DataError, LayerError
from biaskit.probes.layers import probe_layers
from biaskit.probes.report import FIELDS, MDL_FIELDS

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def by_layer(report, site="resid"):
    return {r["layer"]: r for r in report.records if r["site"] == site}


@pytest.fixture(scope="module")
def planted_report(make_acts, planted):
    X, y, direction = planted(n=300, n_layers=6, d=16, signal_layers=(3, 4), p_positive=0.6)
    acts = make_acts(X, {"gender": ["f" if v else "m" for v in y]})
    return probe_layers(acts, "gender", progress=False), (X, y, direction)


def test_finds_the_planted_layers(planted_report):
    report, _ = planted_report
    recs = by_layer(report)
    assert [r["layer"] for r in report.records] == list(range(6))
    for layer, r in recs.items():
        assert set(FIELDS) <= set(r) and not set(MDL_FIELDS) & set(r)
        assert r["ci_low"] <= r["accuracy"] <= r["ci_high"]
        assert r["f1_ci_low"] <= r["f1"] <= r["f1_ci_high"]
        if layer in (3, 4):
            assert r["accuracy"] > 0.95 and r["selectivity"] > 0.3
        else:
            assert abs(r["accuracy"] - r["baseline"]) < 0.1
            assert r["selectivity"] < 0.15
    assert report.best_layer in (3, 4) and report.best_site == "resid"
    assert report.classes == ["f", "m"] and report.label == "gender"
    _, y, _ = planted_report[1]
    assert recs[0]["baseline"] == pytest.approx(max(y.mean(), 1 - y.mean()), abs=0.02)
    assert recs[0]["n"] == 300 and recs[0]["n_classes"] == 2 and recs[0]["folds"] == 5


def test_directions_recover_the_planted_direction(planted_report):
    report, (X, y, direction) = planted_report
    assert set(report.directions) == set(report.mean_directions) == {("resid", layer) for layer in range(6)}
    planted_dir = torch.tensor(direction[0], dtype=torch.float32)
    is_m = torch.tensor(y == 0)  # classes are ["f", "m"]; "f" rows were pushed along +direction
    for kind in ("probe", "mean_diff"):
        vec = report.direction(layer=3, kind=kind)
        assert vec.shape == (1, 16)
        assert float(vec.norm()) == pytest.approx(1.0, abs=1e-5)
        assert float(vec[0] @ planted_dir) < (-0.95 if kind == "mean_diff" else -0.3)
        proj = torch.tensor(X[:, 3]) @ vec[0]  # points towards "m": separates the classes
        threshold = (proj[is_m].mean() + proj[~is_m].mean()) / 2
        assert float(((proj > threshold) == is_m).float().mean()) > 0.95


def test_shuffled_labels_stay_at_the_majority_baseline(make_acts, planted):
    X, y, _ = planted(n=400, n_layers=4, d=12, signal_layers=(1, 2), p_positive=0.7)
    shuffled = np.random.default_rng(5).permutation(y)
    report = probe_layers(make_acts(X, {"y": shuffled.tolist()}), "y", control=False, progress=False)
    for r in report.records:
        assert abs(r["accuracy"] - r["baseline"]) <= 0.05, r
        assert r["control_accuracy"] is None and r["selectivity"] is None
    assert report.records[0]["baseline"] == pytest.approx(max(y.mean(), 1 - y.mean()), abs=0.02)


def test_control_by_type_exposes_memorisation(make_acts, memoriser):
    X, y, subject = memoriser()
    acts = make_acts(X, {"label": y.tolist(), "subject": subject})
    by_row = probe_layers(acts, "label", progress=False).records[0]
    by_type = probe_layers(acts, "label", control_by="subject", progress=False).records[0]
    assert by_row["accuracy"] > 0.85  # the probe memorises subjects it has seen
    assert by_row["selectivity"] > 0.3  # a per-row control cannot memorise: looks selective
    assert by_type["control_accuracy"] > 0.8  # per-type control memorises just as well
    assert by_type["selectivity"] < 0.15


def test_group_splits_stop_the_probe_from_memorising_names(make_acts, memoriser):
    X, y, subject = memoriser()
    acts = make_acts(X, {"label": y.tolist(), "subject": subject})
    plain = probe_layers(acts, "label", control=False, progress=False).records[0]
    grouped = probe_layers(acts, "label", control=False, groups="subject", progress=False).records[0]
    assert plain["accuracy"] > 0.85
    assert grouped["accuracy"] < 0.65
    assert grouped["accuracy"] < plain["accuracy"] - 0.25


def test_few_groups_warn_that_accuracy_depends_on_which_are_held_out(make_acts, memoriser, caplog):
    for n_subjects, warned in ((6, True), (40, False)):
        X, y, subject = memoriser(n_subjects=n_subjects)
        caplog.clear()
        with caplog.at_level("WARNING", logger="biaskit.probes.checks"):
            probe_layers(make_acts(X, {"label": y.tolist(), "subject": subject}), "label",
                         control=False, groups="subject", progress=False)
        assert any("only 6 groups" in m for m in caplog.messages) is warned, caplog.messages
        assert len(caplog.messages) == int(warned)


def test_sklearn_backend_agrees_with_torch(make_acts, planted):
    X, y, _ = planted(n=150, n_layers=3, d=8, signal_layers=(1,), strength=0.5)
    acts = make_acts(X, {"y": y.tolist()})
    a = probe_layers(acts, "y", backend="torch", progress=False)
    b = probe_layers(acts, "y", backend="sklearn", progress=False)
    for ra, rb in zip(a.records, b.records, strict=True):
        assert abs(ra["accuracy"] - rb["accuracy"]) <= 0.01
        assert abs(ra["control_accuracy"] - rb["control_accuracy"]) <= 0.02
    cos = float(a.direction(layer=1)[0] @ b.direction(layer=1)[0])
    assert cos > 0.999


def test_multiclass_several_sites_layer_subset_and_mdl(make_acts, planted):
    X, y, _ = planted(n=240, n_layers=4, d=10, signal_layers=(2,), n_classes=3)
    acts = make_acts(X, {"lang": [["en", "es", "fr"][v] for v in y]}, sites=("resid", "mlp_out"))
    report = probe_layers(acts, "lang", layers=[1, 2], cv=3, mdl=True, progress=False)
    assert [(r["site"], r["layer"]) for r in report.records] == [
        ("resid", 1), ("resid", 2), ("mlp_out", 1), ("mlp_out", 2)]
    recs = by_layer(report)
    assert recs[2]["accuracy"] > 0.9 and recs[1]["accuracy"] < 0.6
    assert recs[2]["mdl_compression"] > 2 * recs[1]["mdl_compression"]
    assert recs[2]["mdl_uniform"] == pytest.approx(240 * math.log2(3))
    assert report.directions[("mlp_out", 2)].shape == (3, 10)
    assert report.best_layer == 2


def test_runs_on_captured_activations(tmp_path):
    """End to end on a real (tiny, random) model: float16 storage, meta, an on-disk set."""
    from biaskit.activation_set import ActivationSet
    from biaskit.activations import capture
    from biaskit.models.tiny import tiny_model

    model = tiny_model("llama", seed=0)
    texts = [f"{w} number {i} said" for i in range(12) for w in ("She", "He")]
    rows = [{"gender": "f" if t.startswith("She") else "m"} for t in texts]
    acts = capture(model, texts, positions="first", records=rows, progress=False)
    report = probe_layers(acts, "gender", cv=3, progress=False)
    assert len(report.records) == len(acts.layers)
    assert report.config["model"] == acts.meta["model"] and report.config["positions"] == "first"
    assert max(r["accuracy"] for r in report.records) > 0.9  # the first token differs
    lazy = ActivationSet.load(acts.save(tmp_path / "acts"), lazy=True)
    again = probe_layers(lazy, "gender", cv=3, progress=False)
    assert again.records == report.records


# -- bad input --------------------------------------------------------------------------


def bad_cases(make_acts):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3, 4)).astype(np.float32)
    labels = ["a"] * 15 + ["b"] * 12 + ["c"] * 3
    nan = X.copy()
    nan[4, 2, 1] = np.nan
    inf = X.copy()
    inf[7, 1, 0] = np.inf
    return {
        "one class": (make_acts(X, {"y": ["a"] * 30}), {}, "only one class ('a')"),
        "rare class": (make_acts(X, {"y": labels}), {}, "class 'c' of label 'y' has 3 example(s), "
                       "fewer than cv=5 folds: lower cv to 3"),
        "nan": (make_acts(nan, {"y": labels}), {"cv": 3}, "layer 2 (site 'resid') contain NaN or inf"),
        "inf": (make_acts(inf, {"y": labels}), {"cv": 3}, "layer 1 (site 'resid') contain NaN or inf"),
        "empty": (make_acts(X[:0], {"y": []}), {}, "empty"),
        "missing column": (make_acts(X, {"label": labels}), {}, "no column 'y'"),
        "None labels": (make_acts(X, {"y": [None, *labels[1:]]}), {"cv": 3}, "1 missing value"),
        "unknown site": (make_acts(X, {"y": labels}), {"cv": 3, "site": "mlp_key"},
                         "site 'mlp_key' was not captured"),
        "unknown layer": (make_acts(X, {"y": labels}), {"cv": 3, "layers": [1, 7]},
                          "layer 7 was not captured"),
        "few groups": (make_acts(X, {"y": labels, "g": ["x", "y"] * 15}), {"cv": 3, "groups": "g"},
                       "groups column 'g' has 2 distinct value(s)"),
        "one type": (make_acts(X, {"y": labels, "t": ["x"] * 30}), {"cv": 3, "control_by": "t"},
                     "control_by column 't' has a single value"),
    }


@pytest.mark.parametrize("case", ["one class", "rare class", "nan", "inf", "empty", "missing column",
                                  "None labels", "unknown site", "unknown layer", "few groups", "one type"])
def test_bad_input_gives_a_clear_data_error(make_acts, case):
    acts, kwargs, message = bad_cases(make_acts)[case]
    expected = LayerError if case.startswith("unknown") else DataError
    with pytest.raises(expected) as info:
        probe_layers(acts, "y", progress=False, **kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"cv": 1}, "cv must be an integer >= 2"),
    ({"C": 0.0}, "C must be a positive"),
    ({"backend": "jax"}, "unknown probe backend 'jax'"),
])
def test_bad_settings_give_a_config_error(make_acts, kwargs, message):
    acts = make_acts(np.zeros((10, 1, 2), dtype=np.float32), {"y": [0, 1] * 5})
    with pytest.raises(ConfigError, match=message) as info:
        probe_layers(acts, "y", progress=False, **kwargs)
    assert isinstance(info.value, BiaskitError)


def test_auto_c_keeps_a_probe_of_noise_at_the_majority_baseline(make_acts, planted):
    """Few rows, many features: a fixed C fits noise and falls below the baseline; auto does not."""
    X, y, _ = planted(n=60, n_layers=3, d=64, signal_layers=(1,), p_positive=0.7, seed=3)
    fixed, auto = [], []
    for s in range(6):
        shuffled = np.random.default_rng(s).permutation(y).tolist()
        acts = make_acts(X, {"y": shuffled})
        fixed.append([r["accuracy"] for r in probe_layers(acts, "y", control=False, progress=False).records])
        report = probe_layers(acts, "y", control=False, C="auto", progress=False)
        auto.append([r["accuracy"] for r in report.records])
    baseline = report.records[0]["baseline"]
    assert np.all(np.abs(np.mean(auto, 0) - baseline) <= 0.05), (np.mean(auto, 0), baseline)
    assert np.mean(fixed) < baseline - 0.05  # the failure auto exists to fix
    assert report.config["C"] == "auto" and report.config["C_grid"][0] == 0.001
    assert all(r["C"] in report.config["C_grid"] for r in report.records)


def test_auto_c_keeps_a_real_signal(make_acts, planted):
    X, y, _ = planted(n=300, n_layers=4, d=16, signal_layers=(2,), seed=1)
    report = probe_layers(make_acts(X, {"y": y.tolist()}), "y", C="auto", progress=False)
    by_layer = {r["layer"]: r for r in report.records}
    assert by_layer[2]["accuracy"] > 0.95 and report.best_layer == 2
    assert by_layer[0]["accuracy"] < 0.7


def test_auto_c_is_the_same_on_both_backends(make_acts, planted):
    X, y, _ = planted(n=120, n_layers=3, d=8, signal_layers=(1,), seed=2, strength=0.8)
    acts = make_acts(X, {"y": y.tolist()})
    a = probe_layers(acts, "y", C=[0.01, 1.0], progress=False)
    b = probe_layers(acts, "y", C=[0.01, 1.0], backend="sklearn", progress=False)
    for ra, rb in zip(a.records, b.records, strict=True):
        assert abs(ra["accuracy"] - rb["accuracy"]) <= 0.01 and ra["C"] == rb["C"], (ra, rb)


@pytest.mark.parametrize("C,message", [("best", "'auto'"), ([], "empty"), ([1.0, -1], "positive"),
                                       (float("nan"), "positive")])
def test_bad_c_is_a_clear_error(make_acts, planted, C, message):
    from biaskit.errors import ConfigError

    X, y, _ = planted(n=40, n_layers=1, d=4, signal_layers=(0,))
    with pytest.raises(ConfigError, match=message):
        probe_layers(make_acts(X, {"y": y.tolist()}), "y", C=C, progress=False)


def test_auto_c_needs_folds_it_can_split_again(make_acts):
    from biaskit.errors import DataError

    X = np.random.default_rng(0).normal(size=(4, 1, 3))
    acts = make_acts(X, {"y": [0, 0, 1, 1]})  # 2 folds: one row of each class to train on
    with pytest.raises(DataError, match="fixed C"):
        probe_layers(acts, "y", cv=2, control=False, C="auto", progress=False)


def test_auto_c_matches_scikit_learn_nested_cv_on_the_same_splits(make_acts, planted):
    """C="auto" is GridSearchCV inside each outer fold: same splits, same grid, same answer."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from biaskit.probes.checks import AUTO_C_GRID
    from biaskit.probes.choose_c import INNER_FOLDS
    from biaskit.probes.control import make_folds

    X, y, _ = planted(n=150, n_layers=3, d=10, signal_layers=(1, 2), strength=0.3, seed=4)
    report = probe_layers(make_acts(X, {"y": y.tolist()}, dtype=torch.float32), "y", control=False,
                          C="auto", progress=False)
    for layer in range(3):
        acc = []
        for f, (train, test) in enumerate(make_folds(y, 5, 0)):
            search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                                  {"logisticregression__C": list(AUTO_C_GRID)},
                                  cv=make_folds(y[train], INNER_FOLDS, 1 + f))
            acc.append(search.fit(X[train, layer], y[train]).score(X[test, layer], y[test]))
        assert report.records[layer]["accuracy"] == pytest.approx(np.mean(acc), abs=0.014), layer


def test_permutations_give_chance_and_a_p_value_per_layer(make_acts, planted):
    from biaskit.probes.report import PERMUTATION_FIELDS

    X, y, _ = planted(n=200, n_layers=4, d=12, signal_layers=(2,), seed=6)
    report = probe_layers(make_acts(X, {"y": y.tolist()}), "y", permutations=19, progress=False)
    by_layer = {r["layer"]: r for r in report.records}
    assert by_layer[2]["permutation_p"] == pytest.approx(1 / 20)  # no shuffle reaches it
    assert abs(by_layer[2]["permutation_accuracy"] - 0.5) < 0.06
    assert by_layer[0]["permutation_p"] > 0.05  # nothing planted at layer 0
    assert all(set(PERMUTATION_FIELDS) <= set(r) for r in report.records)
    assert report.config["permutations"] == 19
    plain = probe_layers(make_acts(X, {"y": y.tolist()}), "y", progress=False)
    assert "permutation_p" not in plain.records[0]
    # the permutations do not change the real scores or the control task
    for a, b in zip(report.records, plain.records, strict=True):
        assert a["accuracy"] == b["accuracy"] and a["control_accuracy"] == b["control_accuracy"]


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_bad_permutations_is_a_clear_error(make_acts, planted, bad):
    from biaskit.errors import ConfigError

    X, y, _ = planted(n=40, n_layers=1, d=4, signal_layers=(0,))
    with pytest.raises(ConfigError, match="permutations"):
        probe_layers(make_acts(X, {"y": y.tolist()}), "y", permutations=bad, progress=False)


def test_permutations_with_auto_c_and_the_report_files(make_acts, planted, tmp_path):
    import csv

    X, y, _ = planted(n=120, n_layers=3, d=8, signal_layers=(1,), seed=8)
    report = probe_layers(make_acts(X, {"y": y.tolist()}), "y", C="auto", permutations=4,
                          progress=False)
    report.save(tmp_path)
    with open(tmp_path / "probe.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert "permutation_p" in rows[0] and float(rows[1]["permutation_p"]) == pytest.approx(0.2)
    assert "shuffled labels" in [str(c.header) for c in report.as_table().columns]
    assert (tmp_path / "probe.png").exists()
