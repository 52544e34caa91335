import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from biaskit.probes.batched import fit_batched

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def layered(n=240, n_layers=4, d=12, k=2, seed=0):
    """Features [layers, n, d] whose label signal grows with depth, with big offsets."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(size=(k, d))
    X = rng.normal(size=(n_layers, n, d)) * rng.uniform(0.2, 5.0, size=d) + 30.0
    for layer in range(n_layers):
        X[layer] += centres[y] * 0.6 * layer
    return X, y


def sklearn_reference(X, y, train, C):
    """Raw-space (coef [k', d], intercept [k']) of LogisticRegression on standardised rows."""
    scaler = StandardScaler().fit(X[train])
    model = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(scaler.transform(X[train]), y[train])
    coef = model.coef_ / scaler.scale_
    return coef, model.intercept_ - coef @ scaler.mean_


@pytest.mark.parametrize("k", [2, 3])
def test_float64_solution_equals_sklearn(k):
    """Same objective as LogisticRegression(C): one logit for 2 classes, intercept free."""
    X, y = layered(k=k)
    fit = fit_batched(torch.tensor(X), torch.tensor(y), C=0.7, tol=1e-9)
    assert fit.weight.dtype == torch.float64 and bool(fit.converged.all())
    assert fit.weight.shape == (1, X.shape[0], X.shape[2], 1 if k == 2 else k)
    for layer in range(X.shape[0]):
        coef, intercept = sklearn_reference(X[layer], y, np.arange(len(y)), 0.7)
        np.testing.assert_allclose(fit.weight[0, layer].T.numpy(), coef, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(fit.bias[0, layer].numpy(), intercept, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("k", [2, 4])
def test_cv_accuracy_within_one_point_of_sklearn_on_every_layer(k):
    X, y = layered(n=400, n_layers=5, d=16, k=k, seed=k)
    X32 = X.astype(np.float32)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X[0], y))
    mask = np.zeros((5, len(y)), dtype=bool)
    for f, (train, _) in enumerate(folds):
        mask[f, train] = True
    fit = fit_batched(torch.tensor(X32), torch.tensor(y).expand(5, -1), torch.tensor(mask), n_classes=k)
    pred = fit.predict(torch.tensor(X32)).numpy()
    for layer in range(X.shape[0]):
        ours = np.mean([np.mean(pred[f, layer, te] == y[te]) for f, (_, te) in enumerate(folds)])
        ref = []
        for train, test in folds:
            scaler = StandardScaler().fit(X32[layer, train])
            model = LogisticRegression(C=1.0, max_iter=1000)
            model.fit(scaler.transform(X32[layer, train]), y[train])
            ref.append(model.score(scaler.transform(X32[layer, test]), y[test]))
        assert abs(ours - np.mean(ref)) <= 0.01, (layer, ours, np.mean(ref))
    assert np.mean(pred[:, -1] == y) > 0.8  # the deep layers really carry the signal


def test_each_task_sees_only_its_training_rows():
    """Standardisation and loss use the mask: changing held-out rows changes nothing."""
    X, y = layered(n=120, n_layers=2)
    mask = torch.zeros(2, 120, dtype=torch.bool)
    mask[0, :80] = True
    mask[1, 40:] = True
    first = fit_batched(torch.tensor(X), torch.tensor(y).expand(2, -1), mask, tol=1e-9)
    X2 = X.copy()
    X2[:, 80:] = np.random.default_rng(1).normal(size=X2[:, 80:].shape) * 100  # held out of task 0
    second = fit_batched(torch.tensor(X2), torch.tensor(y).expand(2, -1), mask, tol=1e-9)
    torch.testing.assert_close(first.weight[0], second.weight[0], rtol=1e-6, atol=1e-8)
    assert not torch.allclose(first.weight[1], second.weight[1])
    coef, _ = sklearn_reference(X[1], y, np.arange(40, 120), 1.0)
    np.testing.assert_allclose(first.weight[1, 1].T.numpy(), coef, rtol=1e-4, atol=1e-6)


def test_different_labels_per_task_and_directions():
    X, y = layered(n=150, n_layers=3)
    shuffled = np.random.default_rng(0).permutation(y)
    fit = fit_batched(torch.tensor(X, dtype=torch.float32), torch.tensor(np.stack([y, shuffled])))
    assert fit.weight.shape[:2] == (2, 3) and fit.weight.dtype == torch.float32
    dirs = fit.directions()
    assert dirs.shape == (2, 3, 1, X.shape[2])
    torch.testing.assert_close(dirs.norm(dim=-1), torch.ones(2, 3, 1))
    pred = fit.predict(torch.tensor(X, dtype=torch.float32))
    assert (pred[0, -1].numpy() == y).mean() > (pred[1, -1].numpy() == shuffled).mean()
    logp = fit.log_proba(torch.tensor(X, dtype=torch.float32))
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(2, 3, 150))


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="two classes"):
        fit_batched(torch.zeros(1, 5, 2), torch.zeros(5))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_the_device_of_its_input():
    X, y = layered(n=100, n_layers=2)
    fit = fit_batched(torch.tensor(X, dtype=torch.float32, device="cuda"), torch.tensor(y))
    assert fit.weight.device.type == "cuda"
    cpu = fit_batched(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
    torch.testing.assert_close(fit.weight.cpu(), cpu.weight, rtol=1e-2, atol=1e-3)
