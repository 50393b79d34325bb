"""Error consistency (Geirhos, Meding & Wichmann 2020): Cohen's kappa of two observers' trial-by-trial correctness.

``kappa = (c_obs - c_exp) / (1 - c_exp)``: ``c_obs`` the fraction of trials both got right or both got wrong,
``c_exp = p1 p2 + (1 - p1)(1 - p2)`` the agreement expected from their accuracies alone.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from brainalign.core.errors import InvalidInputError


def error_consistency(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> float:
    """Cohen's kappa between two boolean correctness vectors over the same trials.

    NaN with a warning when the expected consistency is 1 (both observers always right, or always wrong), where
    kappa is undefined.

    >>> error_consistency([True, True, False, False], [True, True, False, False])
    1.0
    >>> error_consistency([True, False, True, False], [True, True, False, False])
    0.0
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise InvalidInputError(f"correctness vectors must be 1-d, non-empty and of equal length; got shapes "
                                f"{a.shape} and {b.shape}")
    p_a, p_b = a.mean(), b.mean()
    expected = p_a * p_b + (1 - p_a) * (1 - p_b)
    if expected == 1:
        warnings.warn("error consistency is undefined when both observers are always right or always wrong "
                      f"(accuracies {p_a:.3g} and {p_b:.3g}); returning NaN", RuntimeWarning, stacklevel=2)
        return float("nan")
    observed = np.mean(a == b)
    return float((observed - expected) / (1 - expected))


def human_consistency(correct_by_subject: Mapping[str, Sequence[bool]]) -> float:
    """Mean error consistency over all pairs of subjects (the ceiling of a model's error consistency).

    ``correct_by_subject`` maps each subject to its correctness on the same trials in the same order.

    >>> human_consistency({"s1": [True, False, True, False], "s2": [True, False, True, False],
    ...                    "s3": [True, False, False, True]})
    0.3333333333333333
    """
    if len(correct_by_subject) < 2:
        raise InvalidInputError(f"human consistency needs at least 2 subjects; got {len(correct_by_subject)}")
    kappas = [error_consistency(a, b) for a, b in itertools.combinations(correct_by_subject.values(), 2)]
    return float(np.nanmean(kappas))
