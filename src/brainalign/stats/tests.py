"""Tests across subjects (scipy): one-sample and paired t-tests or Wilcoxon signed-rank, vectorised over models.

Values are ``(n_subjects, ...)``; the test runs along axis 0 for every other index at once.

>>> import numpy as np
>>> result = one_sample_test(np.array([[0.1, 0.0], [0.2, 0.01], [0.15, -0.02], [0.12, 0.02]]))
>>> [bool(p < 0.05) for p in result.p_value]
[True, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from brainalign.core.errors import InvalidInputError, UnknownNameError

TESTS = ("ttest", "wilcoxon")


@dataclass
class TestResult:
    """Statistic and p-value per tested column, and which test produced them."""

    __test__ = False  # not a pytest class
    statistic: np.ndarray
    p_value: np.ndarray
    test: str


def one_sample_test(values: np.ndarray, popmean: float = 0.0, *, test: Literal["ttest", "wilcoxon"] = "ttest",
                    alternative: str = "two-sided") -> TestResult:
    """Is the mean (t-test) or median (Wilcoxon) across subjects (axis 0) different from ``popmean``?"""
    values = _subjects_first(values)
    if test == "ttest":
        out = stats.ttest_1samp(values, popmean, axis=0, alternative=alternative)
    elif test == "wilcoxon":
        out = stats.wilcoxon(values - popmean, axis=0, alternative=alternative)
    else:
        raise UnknownNameError("test", test, TESTS)
    return TestResult(np.asarray(out.statistic), np.asarray(out.pvalue), test)


def paired_test(a: np.ndarray, b: np.ndarray, *, test: Literal["ttest", "wilcoxon"] = "ttest",
                alternative: str = "two-sided") -> TestResult:
    """Paired comparison across subjects (axis 0) of two conditions measured on the same subjects.

    >>> bool(paired_test(np.array([0.3, 0.4, 0.35, 0.5]), np.array([0.1, 0.2, 0.2, 0.3])).p_value < 0.01)
    True
    """
    a, b = _subjects_first(a), _subjects_first(b)
    if a.shape != b.shape:
        raise InvalidInputError(f"paired values need equal shapes; got {a.shape} and {b.shape}")
    if test == "ttest":
        out = stats.ttest_rel(a, b, axis=0, alternative=alternative)
    elif test == "wilcoxon":
        out = stats.wilcoxon(a, b, axis=0, alternative=alternative)
    else:
        raise UnknownNameError("test", test, TESTS)
    return TestResult(np.asarray(out.statistic), np.asarray(out.pvalue), test)


def _subjects_first(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.shape[0] < 2:
        raise InvalidInputError(f"tests across subjects need at least 2 subjects on axis 0; got shape {values.shape}")
    if np.isnan(values).any():
        raise InvalidInputError(f"values contain {int(np.isnan(values).sum())} NaN entries")
    return values
