"""Warnings users need about a fitted result, each raised once with the numbers that triggered it.

* :func:`check_alpha_grid` — ridge penalties chosen at the edge of the alpha grid (extend the grid).
* :func:`check_reliability` — neuroids whose split-half reliability is ≤ 0 (no ceiling can be trusted).
* :func:`check_noise_ceiling` — an RDM noise ceiling (lower bound) not significantly above 0.
* :func:`check_above_ceiling` — a ceiling-normalised score above 1 (the ceiling underestimates the data).

Each returns the measured quantity, so callers can store it too.

>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     share = check_alpha_grid(np.array([1.0, 1e4, 1e4, 10.0]), alphas=[1.0, 10.0, 1e4])
>>> share, len(caught)
(0.75, 1)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from brainalign.core.backend import to_numpy
from brainalign.core.errors import InvalidInputError
from brainalign.core.score import Score

EDGE_SHARE = 0.1
ABOVE_SHARE = 0.05


def check_alpha_grid(fitted: Any, alphas: Sequence[float] | np.ndarray | None = None, *,
                     max_share: float = EDGE_SHARE) -> float:
    """Share of neuroids whose ridge penalty is the smallest or largest of the grid; warns once above
    ``max_share``. ``fitted`` is a fitted ``RidgeCV`` (``best_alphas_``, grid ``alphas``), a `Score` of the
    ``ridge`` metric (``extra["alpha_at_grid_edge"]``) or an array of chosen alphas with their grid ``alphas``.

    >>> from brainalign.mapping.ridge import RidgeCV
    >>> X = np.random.default_rng(0).normal(size=(30, 3))
    >>> check_alpha_grid(RidgeCV([1e-3, 1e-2], cv=3).fit(X, X @ np.ones((3, 2))), max_share=1.0)
    1.0
    """
    if isinstance(fitted, Score):
        if "alpha_at_grid_edge" not in fitted.extra:
            raise InvalidInputError("this Score has no 'alpha_at_grid_edge' (only ridge scores report chosen alphas)")
        share = float(fitted.extra["alpha_at_grid_edge"])
    else:
        if hasattr(fitted, "best_alphas_"):
            chosen, alphas = to_numpy(fitted.best_alphas_), fitted.alphas if alphas is None else alphas
        else:
            chosen = np.asarray(fitted, dtype=float)
        if alphas is None:
            raise InvalidInputError("pass the alpha grid (alphas=) with an array of chosen alphas")
        grid = np.sort(np.asarray(alphas, dtype=float))
        chosen = np.asarray(chosen, dtype=float).reshape(-1)
        share = float(np.mean(np.isclose(chosen, grid[0], rtol=1e-5) | np.isclose(chosen, grid[-1], rtol=1e-5)))
    if share > max_share:
        warnings.warn(f"{share:.0%} of neuroids chose a ridge penalty at the edge of the alpha grid (more than "
                      f"{max_share:.0%}); extend the grid, the score may be underestimated", RuntimeWarning,
                      stacklevel=2)
    return share


def check_reliability(reliability: Any) -> float:
    """Share of neuroids whose reliability (e.g. ``split_half_reliability``) is ≤ 0 or NaN; warns once if any.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     check_reliability(np.array([0.8, -0.1, 0.5, np.nan]))
    0.5
    """
    values = np.asarray(to_numpy(reliability), dtype=float).reshape(-1)
    bad = ~(values > 0)
    share = float(bad.mean()) if values.size else math.nan
    if bad.any():
        warnings.warn(f"{int(bad.sum())} of {values.size} neuroids ({share:.0%}) have a reliability <= 0 or NaN: "
                      "they are dropped from ceiling-normalised scores, and the data may be too noisy to score",
                      RuntimeWarning, stacklevel=2)
    return share


def check_noise_ceiling(lower_samples: Any, *, alpha: float = 0.05) -> float:
    """Bootstrap p-value that the lower noise-ceiling bound is > 0 (``(1 + #{sample ≤ 0}) / (1 + n)`` over the
    bootstrap samples of the bound, e.g. ``bootstrap_rsa(...).noise_ceiling[:, 0]``); warns once when
    it is not below ``alpha``.

    >>> check_noise_ceiling(np.linspace(0.1, 0.3, 99))
    0.01
    """
    samples = np.asarray(to_numpy(lower_samples), dtype=float).reshape(-1)
    samples = samples[np.isfinite(samples)]
    if not samples.size:
        warnings.warn("the noise ceiling has no finite bootstrap sample; it cannot be trusted", RuntimeWarning,
                      stacklevel=2)
        return math.nan
    p_value = float((1 + np.sum(samples <= 0)) / (1 + samples.size))
    if p_value >= alpha:
        warnings.warn(f"the lower noise ceiling is not significantly above 0 (bootstrap p = {p_value:.3g}); "
                      "the subjects do not agree reliably and normalised scores are meaningless", RuntimeWarning,
                      stacklevel=2)
    return p_value


def check_above_ceiling(score: Score, *, max_share: float = ABOVE_SHARE) -> float:
    """Share of neuroids whose ceiling-normalised value exceeds 1; warns once if the score's ``value`` exceeds 1
    or that share exceeds ``max_share`` (the ceiling then underestimates the data's reliability).

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     check_above_ceiling(Score(1.2, raw=0.6, ceiling=0.3, per_neuroid=np.array([1.2, 0.9])))
    0.5
    """
    if math.isnan(score.ceiling):
        return math.nan
    per_neuroid = None if score.per_neuroid is None else np.asarray(score.per_neuroid, dtype=float)
    share = float(np.mean(per_neuroid[np.isfinite(per_neuroid)] > 1)) if per_neuroid is not None and \
        np.isfinite(per_neuroid).any() else math.nan
    if score.value > 1 or share > max_share:
        warnings.warn(f"the score is above its ceiling (value {score.value:.3g}, {share:.0%} of neuroids above 1): "
                      "the ceiling underestimates the data's reliability (too few repetitions?)", RuntimeWarning,
                      stacklevel=2)
    return share
