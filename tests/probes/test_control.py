import numpy as np
import pytest

from biaskit.probes.control import control_labels, encode, is_relabelling, make_folds, type_quota

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def test_encode_sorts_and_codes():
    classes, codes = encode(["m", "f", "m", "x"])
    assert classes == ["f", "m", "x"] and codes.tolist() == [1, 0, 1, 2]
    classes, _ = encode([1, "1", True])  # mixed types do not crash
    assert len(classes) == 2


def test_without_types_the_control_is_a_permutation():
    y = np.array([0] * 30 + [1] * 10)
    ctrl = control_labels(y, 2, None, np.random.default_rng(0))
    assert sorted(ctrl.tolist()) == sorted(y.tolist()) and not np.array_equal(ctrl, y)


def test_each_type_gets_one_label_in_the_label_proportions():
    rng = np.random.default_rng(0)
    types = rng.integers(0, 20, 400)
    y = rng.integers(0, 4, 400)
    y[y == 3] = 0  # proportions 1/2, 1/4, 1/4, and one class absent
    ctrl = control_labels(y, 4, [f"t{t}" for t in types], np.random.default_rng(1))
    for t in range(20):
        assert len(set(ctrl[types == t])) == 1  # constant within a type
    per_type = np.array([ctrl[types == t][0] for t in range(20)])
    assert np.bincount(per_type, minlength=4).tolist() == type_quota(np.bincount(y, minlength=4), 20).tolist()


def test_relabelling_is_recognised_under_any_class_names():
    real = np.array([0, 0, 1, 1, 2])
    assert is_relabelling(real, real)
    assert is_relabelling(real, np.array([2, 2, 0, 0, 1]))  # same partition, other names
    assert not is_relabelling(real, np.array([0, 1, 1, 0, 2]))
    assert not is_relabelling(real, np.array([0, 0, 0, 1, 1]))


@pytest.mark.parametrize("seed", range(40))
def test_a_control_deal_never_reproduces_the_real_partition_of_few_types(seed):
    """Five types and two labels: one deal in five is the real partition or its mirror.

    Such a control task is the probing task itself, and selectivity would read 0 (or be
    inflated) whatever the representation holds; seen on lab-tiny's five age groups.
    """
    types = np.repeat(np.arange(5), 9)
    real_by_type = np.array([1, 1, 1, 0, 0])
    y = real_by_type[types]
    ctrl = control_labels(y, 2, [f"t{t}" for t in types], np.random.default_rng(seed))
    per_type = np.array([ctrl[types == t][0] for t in range(5)])
    assert not is_relabelling(real_by_type, per_type)
    assert sorted(per_type.tolist()) == sorted(real_by_type.tolist())  # same quota


def test_a_control_that_cannot_differ_is_kept_and_said(caplog):
    y = np.array([0, 0, 1, 1])  # two types, two labels: every deal is a relabelling
    with caplog.at_level("WARNING"):
        ctrl = control_labels(y, 2, ["a", "a", "b", "b"], np.random.default_rng(0))
    assert sorted(ctrl.tolist()) == [0, 0, 1, 1]
    assert "selectivity is not informative" in caplog.text


def test_quota_never_collapses_to_one_class():
    assert type_quota(np.array([95, 5]), 6).tolist() == [5, 1]
    assert type_quota(np.array([50, 30, 20]), 10).tolist() == [5, 3, 2]
    assert type_quota(np.array([1, 1]), 1).sum() == 1


@pytest.mark.parametrize("groups", [None, "g"])
def test_folds_are_stratified_and_keep_groups_whole(groups):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    g = rng.integers(0, 25, 200) if groups else None
    folds = make_folds(y, 5, seed=0, groups=g)
    assert len(folds) == 5
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(200))
    for train, test in folds:
        assert not set(train) & set(test)
        if groups:
            assert not set(g[train]) & set(g[test])
