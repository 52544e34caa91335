import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score

from biaskit.probes.stats import macro_f1, majority_accuracy, t_interval

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def test_t_interval_uses_student_t_over_folds():
    scores = [0.80, 0.85, 0.78, 0.90, 0.83]
    mean, low, high = t_interval(scores)
    half = stats.t.ppf(0.975, 4) * np.std(scores, ddof=1) / np.sqrt(5)
    assert mean == pytest.approx(np.mean(scores))
    assert (low, high) == pytest.approx((mean - half, mean + half))
    assert half > 1.96 * np.std(scores, ddof=1) / np.sqrt(5)  # wider than a normal interval
    assert t_interval([0.7]) == (0.7, 0.7, 0.7)
    assert t_interval([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)


@pytest.mark.parametrize("seed", range(4))
def test_macro_f1_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    k = 2 + seed
    y_true = rng.integers(0, k, 50)
    y_pred = rng.integers(0, k - (seed % 2), 50)  # sometimes a class is never predicted
    expected = f1_score(y_true, y_pred, average="macro", zero_division=0)
    assert macro_f1(y_true, y_pred, k) == pytest.approx(expected)


def test_majority_baseline_uses_the_training_majority():
    assert majority_accuracy(np.array([0, 0, 1]), np.array([0, 1, 1, 1]), 2) == 0.25
    assert majority_accuracy(np.array([1, 1, 0]), np.array([0, 1, 1, 1]), 2) == 0.75
