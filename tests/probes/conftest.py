"""Synthetic activation sets with planted signals, for the probe tests.

Fixtures return factories (not data) so that each test states the set it needs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from biaskit.activation_set import ActivationSet


def _make_acts(X: np.ndarray, columns: dict[str, list], *, sites=("resid",), layers=None,
               model: str = "synthetic", dtype=torch.float16) -> ActivationSet:
    """An in-memory ActivationSet from features [n, layers, d] and record columns."""
    n, n_layers, d = X.shape
    records = [{"text": f"row {i}", **{k: v[i] for k, v in columns.items()}} for i in range(n)]
    data = {s: torch.tensor(X + j * 0.01, dtype=dtype) for j, s in enumerate(sites)}
    return ActivationSet(layers=tuple(layers if layers is not None else range(n_layers)),
                         sites=tuple(sites), records=records,
                         meta={"model": model, "positions": "last", "widths": dict.fromkeys(sites, d)},
                         data=data)


def _planted(n: int = 300, n_layers: int = 6, d: int = 16, signal_layers=(3, 4), strength: float = 2.0,
             seed: int = 0, p_positive: float = 0.5, n_classes: int = 2):
    """Features [n, layers, d] with labels linearly decodable only at `signal_layers`.

    The signal lies along a random unit direction (returned), on anisotropic noise with a
    large common offset in a few dimensions, like residual streams.
    """
    rng = np.random.default_rng(seed)
    if n_classes == 2:
        y = (rng.random(n) < p_positive).astype(int)
    else:
        y = rng.integers(0, n_classes, n)
    direction = rng.normal(size=(max(n_classes, 2), d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    X = rng.normal(size=(n, n_layers, d)) * rng.uniform(0.5, 3.0, size=d)
    X[:, :, :2] += 40.0
    for layer in signal_layers:
        if n_classes == 2:
            X[:, layer] += np.outer(2 * y - 1, direction[0]) * strength * 3.0
        else:
            X[:, layer] += direction[y] * strength * 3.0
    return X.astype(np.float32), y, direction


def _memoriser(n_subjects: int = 40, per_subject: int = 8, d: int = 24, seed: int = 0):
    """Rows whose label is a random function of their subject, with no shared signal.

    Each subject has its own random identity vector; its label is a coin flip. A probe
    can only score above chance by recognising subjects it saw in training.
    """
    rng = np.random.default_rng(seed)
    identity = rng.normal(size=(n_subjects, d)) * 3.0
    subject_label = rng.permutation(np.arange(n_subjects) % 2)
    subject = np.repeat(np.arange(n_subjects), per_subject)
    X = identity[subject] + rng.normal(size=(len(subject), d)) * 0.5
    return X[:, None, :].astype(np.float32), subject_label[subject], [f"s{s}" for s in subject]


@pytest.fixture(scope="module")
def one_thread():
    """Probe tests use tiny arrays: one thread avoids OpenMP/BLAS wake-up stalls.

    On a shared 2-core machine a second OpenMP thread that has to wait for a busy core
    turns a microsecond op into a ~10 ms one; these tests run thousands of such ops.
    """
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):  # BLAS under numpy/scikit-learn likewise
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def make_acts():
    return _make_acts


@pytest.fixture(scope="session")
def planted():
    return _planted


@pytest.fixture(scope="session")
def memoriser():
    return _memoriser
