"""Shared fixtures: offline hub, an isolated cache, and one lab-tiny build per session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on the network in tests


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """A fresh biaskit cache for the whole session, so tests never reuse a user's builds."""
    path = tmp_path_factory.mktemp("biaskit-cache")
    old = os.environ.get("BIASKIT_CACHE")
    os.environ["BIASKIT_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("BIASKIT_CACHE", None)
    else:
        os.environ["BIASKIT_CACHE"] = old


@pytest.fixture(scope="session")
def lab_tiny(cache_dir):
    """The lab-tiny build (built once per session into the session cache)."""
    from biaskit.lab import build_lab

    return build_lab("lab-tiny", progress=False)


@pytest.fixture(scope="session")
def lab_tiny_model(lab_tiny):
    from biaskit.models import load_model

    return load_model("lab-tiny", device="cpu")


@pytest.fixture(scope="session")
def lab_full(cache_dir):
    """The full `lab` build (about 1.5-3 min on 2 cores), once per session.

    Only the tests of what lab-tiny cannot show use it: the middle-layer fact lookup
    (block 0 is attention-only in `lab`) and the tighter learning tolerances. Set
    BIASKIT_SKIP_FULL_LAB=1 to skip them on a slow machine.
    """
    if os.environ.get("BIASKIT_SKIP_FULL_LAB"):
        pytest.skip("BIASKIT_SKIP_FULL_LAB is set")
    from biaskit.lab import build_lab

    return build_lab("lab", progress=False)


@pytest.fixture(scope="session")
def lab_full_model(lab_full):
    from biaskit.models import load_model

    return load_model("lab", device="cpu")
