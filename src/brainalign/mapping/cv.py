"""Seeded cross-validation splits: lists of ``(train_idx, test_idx)`` integer arrays over stimuli.

The splitters are scikit-learn's (``KFold``, ``ShuffleSplit``, ``StratifiedShuffleSplit``) with a fixed
seed, so a split is reproducible and identical to what Brain-Score and himalaya users get from the
same call; the lists can be passed to :class:`brainalign.mapping.ridge.RidgeCV` and to
:func:`brainalign.metrics.encoding.engine.cross_validated_predictions`.

>>> [test.tolist() for _, test in kfold_splits(6, n_splits=3, shuffle=False)]
[[0, 1], [2, 3], [4, 5]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedShuffleSplit

from brainalign.core.errors import InvalidInputError

Splits = list[tuple[np.ndarray, np.ndarray]]


def kfold_splits(n: int, n_splits: int = 5, shuffle: bool = True, seed: int = 0) -> Splits:
    """``n_splits`` folds over ``n`` stimuli; every stimulus is tested exactly once.

    >>> splits = kfold_splits(10, n_splits=5)
    >>> sorted(np.concatenate([test for _, test in splits]).tolist()) == list(range(10))
    True
    """
    _check_counts(n, n_splits)
    splitter = KFold(n_splits=n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    return _as_list(splitter.split(np.zeros(n)))


def shuffle_splits(
    n: int, n_splits: int = 10, test_size: float = 0.1, stratify: Sequence | None = None, seed: int = 0
) -> Splits:
    """``n_splits`` random train/test splits; with ``stratify`` (e.g. object category per stimulus) every
    category keeps its proportion in train and test, as in Brain-Score's 10 × 90/10 splits.

    >>> train, test = shuffle_splits(20, n_splits=2, test_size=0.25, stratify=["a", "b"] * 10)[0]
    >>> len(train), len(test)
    (15, 5)
    """
    if n < 2:
        raise InvalidInputError(f"cannot split {n} stimuli into train and test; need at least 2")
    if not 0 < test_size < 1:
        raise InvalidInputError(f"test_size must be a fraction in (0, 1); got {test_size}")
    if stratify is None:
        return _as_list(ShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=seed).split(np.zeros(n)))
    labels = np.asarray(stratify)
    if labels.shape != (n,):
        raise InvalidInputError(f"stratify needs one label per stimulus ({n}); got shape {labels.shape}")
    splitter = StratifiedShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=seed)
    try:
        return _as_list(splitter.split(np.zeros(n), labels))
    except ValueError as error:  # too few stimuli of a category for the requested test size
        raise InvalidInputError(f"cannot stratify {n} stimuli by {len(set(labels.tolist()))} labels: {error}") from None


def fixed_split(train_ids: Sequence[str], test_ids: Sequence[str], all_ids: Sequence[str]) -> Splits:
    """One split given by stimulus ids (e.g. a dataset's official train/test partition), as positions in
    ``all_ids``.

    >>> fixed_split(["b", "c"], ["a"], ["a", "b", "c"])
    [(array([1, 2]), array([0]))]
    """
    position = {str(s): i for i, s in enumerate(all_ids)}
    train, test = [str(s) for s in train_ids], [str(s) for s in test_ids]
    unknown = [s for s in train + test if s not in position]
    if unknown:
        raise InvalidInputError(f"{len(unknown)} split ids are not among the {len(position)} stimuli "
                                f"(e.g. {unknown[:3]})")
    overlap = set(train) & set(test)
    if overlap:
        raise InvalidInputError(f"{len(overlap)} stimuli are in both train and test (e.g. {sorted(overlap)[:3]})")
    if not train or not test:
        raise InvalidInputError(f"train and test must both be non-empty; got {len(train)} and {len(test)} ids")
    return [(np.array([position[s] for s in train]), np.array([position[s] for s in test]))]


def check_splits(splits: Splits, n: int) -> Splits:
    """Validate user-given splits over ``n`` stimuli: non-empty, in range, train and test disjoint.

    >>> check_splits([([0, 1], [2])], 3)
    [(array([0, 1]), array([2]))]
    """
    checked = []
    for k, (train, test) in enumerate(splits):
        train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
        if train.size == 0 or test.size == 0:
            raise InvalidInputError(f"split {k} has an empty train ({train.size}) or test ({test.size}) set")
        if min(train.min(), test.min()) < 0 or max(train.max(), test.max()) >= n:
            raise InvalidInputError(f"split {k} has indices outside 0..{n - 1}")
        if np.intersect1d(train, test).size:
            raise InvalidInputError(f"split {k} has stimuli in both train and test")
        checked.append((train, test))
    if not checked:
        raise InvalidInputError("no splits were given")
    return checked


def _check_counts(n: int, n_splits: int) -> None:
    if n_splits < 2:
        raise InvalidInputError(f"n_splits must be at least 2; got {n_splits}")
    if n < n_splits:
        raise InvalidInputError(f"cannot make {n_splits} folds from {n} stimuli; use at most {n} folds "
                                f"or more stimuli")


def _as_list(split_iterator) -> Splits:
    return [(np.asarray(train), np.asarray(test)) for train, test in split_iterator]
