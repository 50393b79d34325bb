"""Multiple-comparison corrections (Bonferroni, Benjamini–Hochberg FDR) and all pairwise model comparisons.

>>> import numpy as np
>>> adjust(np.array([0.01, 0.04, 0.03]), "bonferroni").tolist()
[0.03, 0.12, 0.09]
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.stats.tests import paired_test

CORRECTIONS = ("bonferroni", "fdr_bh", "none")


def adjust(p_values: np.ndarray, method: str = "fdr_bh") -> np.ndarray:
    """Adjusted p-values (same shape): Bonferroni, or Benjamini–Hochberg as ``scipy.stats.false_discovery_control``."""
    p = np.asarray(p_values, dtype=float)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise InvalidInputError("p-values must lie in [0, 1] without NaN")
    if method == "bonferroni":
        return np.minimum(p * p.size, 1.0)
    if method == "fdr_bh":
        flat = p.reshape(-1)
        order = np.argsort(flat)
        scaled = flat[order] * flat.size / np.arange(1, flat.size + 1)
        monotone = np.minimum.accumulate(scaled[::-1])[::-1]
        adjusted = np.empty_like(flat)
        adjusted[order] = np.minimum(monotone, 1.0)
        return adjusted.reshape(p.shape)
    if method == "none":
        return p
    raise UnknownNameError("correction", method, CORRECTIONS)


def pairwise_comparisons(values: np.ndarray, names: Sequence[str] | None = None, *, test: str = "ttest",
                         correction: str = "fdr_bh") -> pd.DataFrame:
    """Paired tests of every pair of models over subjects; ``values`` is ``(n_subjects, n_models)``.

    >>> import numpy as np
    >>> table = pairwise_comparisons(np.array([[0.3, 0.1, 0.1], [0.4, 0.2, 0.15], [0.35, 0.1, 0.12], [0.5, 0.2, 0.2]]),
    ...                              ["a", "b", "c"])
    >>> table[["model_a", "model_b"]].values.tolist()
    [['a', 'b'], ['a', 'c'], ['b', 'c']]
    """
    values = np.asarray(values, dtype=float)
    names = list(names) if names is not None else [str(i) for i in range(values.shape[1])]
    if len(names) != values.shape[1]:
        raise InvalidInputError(f"{len(names)} names for {values.shape[1]} models")
    pairs = list(combinations(range(values.shape[1]), 2))
    first, second = (np.array(side) for side in zip(*pairs, strict=True))
    result = paired_test(values[:, first], values[:, second], test=test)
    return pd.DataFrame({
        "model_a": [names[i] for i in first], "model_b": [names[j] for j in second],
        "mean_difference": (values[:, first] - values[:, second]).mean(0),
        "statistic": result.statistic, "p_value": result.p_value,
        "p_adjusted": adjust(result.p_value, correction), "test": test, "correction": correction,
    })
