"""`LinearProbe`: an L2-regularised logistic-regression probe that follows scikit-learn's rules.

The probe standardises each feature (mean/std of the training data) and fits
scikit-learn's `LogisticRegression` (lbfgs) on the standardised features. Why
standardise: residual-stream features differ in scale by orders of magnitude (a few
"massive activation" dimensions, and norms that grow with depth), so an L2 penalty on raw
features would shrink small-scale dimensions far more than large ones, the same `C` would
mean different things at different layers, and lbfgs would converge slowly on the badly
conditioned problem. After fitting, the weights are mapped back to the raw activation
space (`coef_ = w / std`, intercept adjusted), so `coef_`, `intercept_` and `direction_`
live in the space the model writes to, which is what erasure and steering need.

`C` has exactly LogisticRegression's meaning: the objective is
`C * sum_i CE_i + 0.5 * ||W||^2` on the standardised features, intercept unpenalised.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from biaskit.errors import DataError

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.4/1.5

    def _validate_data(estimator, *args, **kwargs):  # type: ignore[no-redef]
        return estimator._validate_data(*args, **kwargs)


class ProbeInputError(DataError, ValueError):
    """Bad input to a probe: a `DataError` for biaskit, a `ValueError` for scikit-learn.

    scikit-learn's contracts (and its estimator checks) expect `ValueError` for bad
    input; biaskit's CLI expects a `BiaskitError`. Inheriting from both satisfies both.
    """


class LinearProbe(ClassifierMixin, BaseEstimator):
    """Logistic-regression probe on standardised features, weights reported in raw space.

    Args:
        C: Inverse L2 strength, as in `LogisticRegression` (larger = weaker penalty).
            Fix it across layers: tuning C per layer lets a probe's capacity, rather
            than the representation, drive the accuracy curve.
        max_iter: lbfgs iterations.
        tol: lbfgs gradient tolerance.
        standardize: Standardise features before fitting (see the module docstring).

    Attributes:
        classes_: Sorted class labels.
        coef_: [1, d] (binary) or [k, d] weights in the raw input space.
        intercept_: [1] or [k] intercepts in the raw input space.
        direction_: `coef_` with each row scaled to unit norm: the probe direction(s).
        mean_: Per-feature training mean (zeros without standardisation).
        scale_: Per-feature training std, 1 for constant features.
        n_features_in_: Number of features seen in `fit`.
        n_iter_: lbfgs iterations used.
    """

    def __init__(self, C: float = 1.0, max_iter: int = 1000, tol: float = 1e-4,
                 standardize: bool = True) -> None:
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.standardize = standardize

    def fit(self, X, y) -> LinearProbe:
        """Fit on `X` [n, d] and labels `y` [n]; returns self."""
        try:
            X, y = _validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=False)
            check_classification_targets(y)
        except ValueError as err:
            raise ProbeInputError(str(err)) from err
        if not (isinstance(self.C, (int, float)) and self.C > 0):
            raise ProbeInputError(f"C must be a positive number, got {self.C!r}")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ProbeInputError(
                f"LinearProbe needs at least two classes; got one class: {self.classes_[0]!r}")
        X = np.asarray(X, dtype=np.float64)
        if self.standardize:
            mean = X.mean(0)
            scale = X.std(0)
            scale[scale <= 10 * np.finfo(np.float64).eps * (1.0 + np.abs(mean))] = 1.0
        else:
            mean, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
        model = LogisticRegression(C=self.C, max_iter=self.max_iter, tol=self.tol, solver="lbfgs")
        model.fit((X - mean) / scale, codes)
        self.mean_, self.scale_ = mean, scale
        self.coef_ = model.coef_ / scale
        self.intercept_ = model.intercept_ - model.coef_ @ (mean / scale)
        norms = np.linalg.norm(self.coef_, axis=1, keepdims=True)
        self.direction_ = self.coef_ / np.where(norms > 0, norms, 1.0)
        self.n_iter_ = int(np.max(model.n_iter_))
        return self

    def decision_function(self, X) -> np.ndarray:
        """Scores [n] (binary: positive means `classes_[1]`) or [n, k]."""
        check_is_fitted(self)
        try:
            X = _validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        except ValueError as err:
            raise ProbeInputError(str(err)) from err
        scores = np.asarray(X, dtype=np.float64) @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities [n, k], columns in the order of `classes_`."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p1 = 1.0 / (1.0 + np.exp(-scores))
            return np.column_stack([1.0 - p1, p1])
        scores = scores - scores.max(1, keepdims=True)
        expd = np.exp(scores)
        return expd / expd.sum(1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """Predicted labels [n] (values from `classes_`)."""
        scores = self.decision_function(X)
        idx = (scores > 0).astype(np.int64) if scores.ndim == 1 else scores.argmax(1)
        return self.classes_[idx]
