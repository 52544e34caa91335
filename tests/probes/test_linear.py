import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from biaskit.errors import BiaskitError, DataError
from biaskit.probes.linear import LinearProbe, ProbeInputError

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def data(n=200, d=6, k=2, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.normal(size=(n, d)) * np.array([0.01, 1, 100, 1, 1, 5])[:d] + 7.0
    X[:, 1] += 1.5 * y
    return X, y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_passes_sklearn_estimator_checks():
    failures = [r for r in check_estimator(LinearProbe(), on_fail=None)
                if r["status"] == "failed"]
    assert not failures, [(r["check_name"], str(r["exception"])[:200]) for r in failures]


def test_init_only_stores_params_and_clone_keeps_them():
    probe = LinearProbe(C="not a number", max_iter=-3)  # no validation in __init__
    assert probe.get_params() == {"C": "not a number", "max_iter": -3, "tol": 1e-4, "standardize": True}
    twin = clone(LinearProbe(C=0.25, tol=1e-6))
    assert twin.get_params()["C"] == 0.25 and twin.get_params()["tol"] == 1e-6
    assert not hasattr(twin, "coef_")
    assert twin.set_params(C=2.0) is twin and twin.C == 2.0


def test_fit_returns_self_and_learned_attributes_end_in_underscore():
    X, y = data()
    probe = LinearProbe()
    assert probe.fit(X, y) is probe
    for name in ("coef_", "intercept_", "classes_", "direction_", "n_features_in_", "mean_", "scale_"):
        assert hasattr(probe, name), name
    learned = set(vars(probe)) - set(probe.get_params())
    assert all(name.endswith("_") for name in learned), learned


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        LinearProbe().predict(np.zeros((2, 3)))


def test_equals_logistic_regression_on_standardised_features():
    """Same C meaning as LogisticRegression; weights mapped back to the raw space."""
    X, y = data()
    probe = LinearProbe(C=0.3, tol=1e-8).fit(X, y)
    scaler = StandardScaler().fit(X)
    ref = LogisticRegression(C=0.3, tol=1e-10, max_iter=5000).fit(scaler.transform(X), y)
    np.testing.assert_allclose(probe.coef_ * scaler.scale_, ref.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(probe.decision_function(X), ref.decision_function(scaler.transform(X)),
                               rtol=1e-5, atol=1e-6)
    assert probe.score(X, y) == pytest.approx(np.mean(probe.predict(X) == y))  # accuracy
    assert probe.score(X, y) > 0.7


def test_multiclass_string_labels_and_directions():
    X, y = data(k=3)
    names = np.array(["es", "fr", "en"])[y]
    probe = LinearProbe().fit(X.tolist(), names.tolist())  # plain lists work too
    assert list(probe.classes_) == ["en", "es", "fr"]
    assert probe.coef_.shape == (3, 6) and probe.direction_.shape == (3, 6)
    np.testing.assert_allclose(np.linalg.norm(probe.direction_, axis=1), 1.0, rtol=1e-6)
    proba = probe.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert set(probe.predict(X)) <= set(probe.classes_)


def test_binary_direction_points_to_second_class():
    X, y = data()
    probe = LinearProbe().fit(X, y)
    assert probe.direction_.shape == (1, 6)
    gap = X[y == 1].mean(0) - X[y == 0].mean(0)
    assert probe.direction_[0] @ gap > 0


def test_smaller_C_shrinks_weights():
    X, y = data()
    strong = LinearProbe(C=0.001).fit(X, y)
    weak = LinearProbe(C=100.0).fit(X, y)
    assert np.linalg.norm(strong.coef_ * strong.scale_) < np.linalg.norm(weak.coef_ * weak.scale_)


@pytest.mark.parametrize("make, match", [
    (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y), "NaN"),
    (lambda X, y: (X, np.zeros_like(y)), "one class"),
    (lambda X, y: (X, y + 0.5), "Unknown label type"),
])
def test_bad_input_is_a_data_error_and_a_value_error(make, match):
    X, y = make(*data())
    with pytest.raises(ProbeInputError, match=match) as info:
        LinearProbe().fit(X, y)
    assert isinstance(info.value, DataError) and isinstance(info.value, BiaskitError)
    assert isinstance(info.value, ValueError)


def test_bad_C_is_reported_at_fit():
    with pytest.raises(ProbeInputError, match="C must be a positive"):
        LinearProbe(C=0).fit(*data())
