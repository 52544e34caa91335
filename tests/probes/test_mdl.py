import math

import numpy as np
import pytest
import torch

from biaskit.probes.mdl import block_cuts, online_codelength

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def test_block_cuts_follow_the_portions():
    assert block_cuts(10000)[:3] == (10, 20, 40) and block_cuts(10000)[-1] == 10000
    small = block_cuts(100)
    assert small[0] == 1 and small[-1] == 100 and list(small) == sorted(set(small))


def test_signal_layer_compresses_noise_layer_does_not():
    rng = np.random.default_rng(0)
    n, d = 400, 12
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(2, n, d)).astype(np.float32)
    X[1, :, 0] += 3.0 * (2 * y - 1)  # layer 1 carries the label, layer 0 is noise
    res = online_codelength(torch.tensor(X), y, 2, seed=0)
    assert res.uniform == pytest.approx(n * math.log2(2))
    assert res.codelength[1] < 0.5 * res.codelength[0]
    assert res.compression[1] > 3.0
    assert res.compression[0] < 1.2  # nothing to learn: no better than the uniform code
    np.testing.assert_allclose(res.compression, res.uniform / res.codelength)


def test_first_block_is_sent_with_the_uniform_code():
    """With a single block boundary at n, the whole message is uniform."""
    y = np.array([0, 1, 2] * 10)
    res = online_codelength(torch.zeros(1, 30, 3), y, 3, portions=(1.0,))
    assert res.codelength[0] == pytest.approx(30 * math.log2(3))
    assert res.compression[0] == pytest.approx(1.0)
