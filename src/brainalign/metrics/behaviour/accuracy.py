"""Top-1 accuracy of categorical decisions."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from brainalign.core.errors import InvalidInputError


def correct(decisions: Sequence[str], truth: Sequence[str]) -> np.ndarray:
    """Boolean per trial: the decision equals the true category.

    >>> correct(["cat", "dog"], ["cat", "cat"]).tolist()
    [True, False]
    """
    decided, true = np.asarray(decisions, dtype=str), np.asarray(truth, dtype=str)
    if decided.shape != true.shape or decided.ndim != 1:
        raise InvalidInputError(f"decisions and truth must be 1-d and of equal length; got shapes "
                                f"{decided.shape} and {true.shape}")
    return np.asarray(decided == true)


def accuracy(decisions: Sequence[str], truth: Sequence[str]) -> float:
    """Fraction of decisions that equal the true category (NaN with a warning for no trials).

    >>> accuracy(["cat", "dog", "dog"], ["cat", "cat", "dog"])
    0.6666666666666666
    """
    hits = correct(decisions, truth)
    if hits.size == 0:
        warnings.warn("accuracy of zero trials is undefined; returning NaN", RuntimeWarning, stacklevel=2)
        return float("nan")
    return float(hits.mean())
