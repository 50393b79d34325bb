"""Cross-validation splits: partitions, stratification, seeds, and clear errors."""

import numpy as np
import pytest
from sklearn.model_selection import KFold

from brainalign.core.errors import InvalidInputError
from brainalign.mapping.cv import check_splits, fixed_split, kfold_splits, shuffle_splits


def test_kfold_partitions_stimuli_and_matches_sklearn_unshuffled():
    splits = kfold_splits(23, n_splits=5, shuffle=False)
    reference = list(KFold(5).split(np.zeros(23)))
    for (train, test), (ref_train, ref_test) in zip(splits, reference, strict=True):
        assert np.array_equal(train, ref_train) and np.array_equal(test, ref_test)
    assert sorted(np.concatenate([t for _, t in splits]).tolist()) == list(range(23))


def test_kfold_is_seeded():
    first, again, other = kfold_splits(40, seed=3), kfold_splits(40, seed=3), kfold_splits(40, seed=4)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other, strict=True))
    for train, test in first:
        assert np.intersect1d(train, test).size == 0 and train.size + test.size == 40


def test_stratified_shuffle_splits_keep_category_proportions():
    labels = np.repeat(["face", "body", "object", "scene"], 25)
    splits = shuffle_splits(100, n_splits=10, test_size=0.1, stratify=labels, seed=1)
    assert len(splits) == 10
    for train, test in splits:
        assert len(test) == 10 and len(train) == 90 and np.intersect1d(train, test).size == 0
        counts = {label: int((labels[test] == label).sum()) for label in set(labels)}
        assert set(counts.values()) <= {2, 3}  # 25 % of 10 test stimuli per category, rounded


def test_fixed_split_positions_and_errors():
    ids = ["a", "b", "c", "d"]
    (train, test), = fixed_split(["d", "a"], ["c"], ids)
    assert train.tolist() == [3, 0] and test.tolist() == [2]
    with pytest.raises(InvalidInputError, match="not among"):
        fixed_split(["a", "z"], ["c"], ids)
    with pytest.raises(InvalidInputError, match="both train and test"):
        fixed_split(["a", "c"], ["c"], ids)


def test_too_few_stimuli_and_bad_splits_raise_clear_errors():
    with pytest.raises(InvalidInputError, match="cannot make 5 folds from 3 stimuli"):
        kfold_splits(3, n_splits=5)
    with pytest.raises(InvalidInputError, match="outside"):
        check_splits([([0, 1], [5])], 3)
    with pytest.raises(InvalidInputError, match="both train and test"):
        check_splits([([0, 1], [1])], 3)
