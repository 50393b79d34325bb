"""Uncertainty of encoding scores without refitting: resample the held-out (prediction, target) rows.

The fitted mappings of a cross-validation stay fixed; a bootstrap sample draws, within each split, the test
stimuli with replacement. Drawing stimulus k m_k times weights its row by m_k, so the Pearson r of every
neuroid in every sample comes from weighted moments: five matrix products ``counts @ rows`` per split for all
samples at once (no loop over samples). The score's aggregation then runs on the ``(samples, splits,
neuroids)`` r array: by default :func:`median_of_split_means` (the engine's ``raw``/``value``), or any callable.

The p-value tests "score > 0" by permutation: within each split, the targets are shuffled against the
predictions (one gather for all permutations), and ``p = (1 + #{null ≥ observed}) / (1 + n_permutations)``.

>>> import numpy as np
>>> from brainalign.data.synthetic import simulated_brain
>>> from brainalign.mapping.linear import LinearRegression
>>> from brainalign.metrics.encoding.engine import cross_validated_predictions, encoding_matrices, resolve_splits
>>> brain = simulated_brain(n_stimuli=100, n_features=5, n_neuroids=4, snr=2.0)
>>> X, Y = encoding_matrices(brain.features, brain.responses)
>>> cv = cross_validated_predictions(LinearRegression(), X, Y, resolve_splits(100))
>>> result = bootstrap_encoding(cv, n_samples=500)
>>> bool(result.ci_low < result.value < result.ci_high), result.p_value < 0.01
(True, True)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainalign.core.backend import to_numpy
from brainalign.core.errors import InvalidInputError
from brainalign.stats.bootstrap import percentile_ci

Aggregate = Callable[[np.ndarray], np.ndarray]


@dataclass
class Uncertainty:
    """A score's observed ``value``, its bootstrap ``samples``, percentile CI (``ci_low``, ``ci_high`` at level
    ``ci``), a ``p_value`` (``p_value_kind`` says of which test) and what was resampled (``resampled``)."""

    value: float
    samples: np.ndarray
    ci_low: float
    ci_high: float
    ci: float
    p_value: float
    p_value_kind: str
    resampled: str

    def as_extra(self) -> dict[str, Any]:
        """The scalar fields, for ``Score.extra`` or a results row.

        >>> Uncertainty(0.5, np.zeros(2), 0.4, 0.6, 0.95, 0.01, "permutation", "stimuli").as_extra()["ci_low"]
        0.4
        """
        return {"ci_low": self.ci_low, "ci_high": self.ci_high, "ci_level": self.ci, "p_value": self.p_value,
                "p_value_kind": self.p_value_kind, "ci_resampled": self.resampled}


def median_of_split_means(ceiling: np.ndarray | None = None) -> Aggregate:
    """The engine's aggregation on r ``(..., splits, neuroids)``: median over neuroids of the split-mean r, or
    with a per-neuroid ``ceiling`` of ``r|r|/c`` (neuroids with ``c <= 0`` or NaN dropped), as
    ``score_correlations`` computes ``value``.

    >>> float(median_of_split_means()(np.array([[0.2, 0.4, 0.9], [0.4, 0.6, 0.9]])))
    0.5
    """

    def aggregate(r: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neuroids
            return np.nanmedian(neuroid_values(r, ceiling), axis=-1)

    return aggregate


def brain_score_aggregate(ceiling: float | None = None) -> Aggregate:
    """Brain-Score's aggregation on r ``(..., splits, neuroids)``: median over neuroids per split, mean over
    splits; with a scalar ``ceiling`` (correlation units) ``clip((raw / ceiling)², 0, 1)``, as the engine's
    ``aggregation="brain-score"`` computes ``value``.

    >>> r = np.array([[0.2, 0.4, 0.9], [0.4, 0.6, 0.9]])
    >>> float(brain_score_aggregate()(r)), float(brain_score_aggregate(0.8)(r))
    (0.5, 0.390625)
    """

    def aggregate(r: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN splits
            raw = np.nanmean(np.nanmedian(r, axis=-1), axis=-1)
        if ceiling is None:
            return raw
        if not (np.isfinite(ceiling) and ceiling > 0):
            return np.full_like(raw, np.nan)
        return np.clip((raw / ceiling) ** 2, 0.0, 1.0)

    return aggregate


def neuroid_values(r: np.ndarray, ceiling: np.ndarray | None) -> np.ndarray:
    """Split-mean r ``(..., neuroids)`` of r ``(..., splits, neuroids)``; with a ``ceiling``, ``r|r|/c`` (NaN where
    ``c <= 0`` or NaN).

    >>> neuroid_values(np.array([[0.4, 0.2], [0.6, 0.2]]), np.array([0.25, 0.0])).tolist()
    [1.0, nan]
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(r, axis=-2)
    if ceiling is None:
        return mean
    c = np.asarray(ceiling, dtype=float)
    if c.shape != mean.shape[-1:]:
        raise InvalidInputError(f"ceiling needs one value per neuroid ({mean.shape[-1]}); got shape {c.shape}")
    return mean * np.abs(mean) / np.where(np.isfinite(c) & (c > 0), c, np.nan)


def _moments(counts: np.ndarray, prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson r ``(samples, neuroids)`` of the rows weighted by ``counts`` ``(samples, rows)``."""
    p = prediction - prediction.mean(0)
    y = target - target.mean(0)
    total = counts.sum(1, keepdims=True)
    mean_p, mean_y = counts @ p / total, counts @ y / total
    cov = counts @ (p * y) / total - mean_p * mean_y
    var_p = counts @ (p * p) / total - mean_p**2
    var_y = counts @ (y * y) / total - mean_y**2
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(var_p * var_y)
    return np.where((var_p > 1e-12 * (p * p).mean(0)) & (var_y > 1e-12 * (y * y).mean(0)), np.clip(r, -1, 1),
                    np.nan)


def split_arrays(cv: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per split, held-out predictions and targets of ``cv`` as float64 numpy arrays."""
    return [(to_numpy(p).astype(float), to_numpy(y).astype(float))
            for p, y in zip(cv.predictions, cv.targets, strict=True)]


def bootstrap_correlations(cv: Any, n_samples: int = 1000, seed: int | None = 0) -> np.ndarray:
    """Held-out r ``(n_samples, splits, neuroids)`` with each split's test stimuli drawn with replacement.

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> x = np.arange(10.0)[:, None]
    >>> bootstrap_correlations(SimpleNamespace(predictions=[x], targets=[2 * x]), n_samples=3).round(6).tolist()
    [[[1.0]], [[1.0]], [[1.0]]]
    """
    arrays = split_arrays(cv)
    counts = stimulus_counts([p.shape[0] for p, _ in arrays], n_samples, seed)
    return resampled_correlations(arrays, counts)


def stimulus_counts(split_sizes: Sequence[int], n_samples: int, seed: int | None = 0) -> list[np.ndarray]:
    """Per split, how often each test stimulus is drawn in each sample ``(n_samples, size)`` (draws with
    replacement of ``size`` stimuli); share them to resample several models identically.

    >>> [c.sum(1).tolist() for c in stimulus_counts([3, 2], 2)]
    [[3.0, 3.0], [2.0, 2.0]]
    """
    if n_samples < 1:
        raise InvalidInputError(f"n_samples must be at least 1; got {n_samples}")
    rng = np.random.default_rng(seed)
    out = []
    for n in split_sizes:
        counts = np.zeros((n_samples, n))
        np.add.at(counts, (np.arange(n_samples)[:, None], rng.integers(0, n, (n_samples, n))), 1.0)
        out.append(counts)
    return out


def resampled_correlations(arrays: Sequence[tuple[np.ndarray, np.ndarray]], counts: Sequence[np.ndarray]) -> np.ndarray:
    """r ``(samples, splits, neuroids)`` of per-split ``(prediction, target)`` rows weighted by ``counts``.

    >>> x = np.arange(4.0)[:, None]
    >>> resampled_correlations([(x, x ** 2)], [np.ones((1, 4))]).round(4).tolist()
    [[[0.9583]]]
    """
    return np.stack([_moments(c, p, y) for (p, y), c in zip(arrays, counts, strict=True)], axis=1)


def permutation_correlations(cv: Any, n_permutations: int = 1000, seed: int | None = 0) -> np.ndarray:
    """Held-out r ``(n_permutations, splits, neuroids)`` with each split's targets shuffled against its predictions.

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> x = np.arange(10.0)[:, None]
    >>> null = permutation_correlations(SimpleNamespace(predictions=[x], targets=[x]), n_permutations=200)
    >>> bool(abs(null.mean()) < 0.1)
    True
    """
    rng = np.random.default_rng(seed)
    per_split = []
    for prediction, target in split_arrays(cv):
        p = prediction - prediction.mean(0)
        y = target - target.mean(0)
        order = np.argsort(rng.random((n_permutations, p.shape[0])), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.einsum("bij,ij->bj", y[order], p, optimize=True) / np.sqrt((p * p).sum(0) * (y * y).sum(0))
        per_split.append(r)
    return np.stack(per_split, axis=1)


def observed_correlations(cv: Any) -> np.ndarray:
    """Held-out r ``(1, splits, neuroids)`` of the measured rows (every stimulus once).

    >>> from types import SimpleNamespace
    >>> x = np.arange(4.0)[:, None]
    >>> observed_correlations(SimpleNamespace(predictions=[x], targets=[-x])).tolist()
    [[[-1.0]]]
    """
    arrays = split_arrays(cv)
    return resampled_correlations(arrays, [np.ones((1, p.shape[0])) for p, _ in arrays])


def bootstrap_encoding(cv: Any, *, n_samples: int = 1000, ci: float = 0.95, aggregate: Aggregate | None = None,
                       ceiling: np.ndarray | None = None, n_permutations: int = 1000,
                       seed: int | None = 0) -> Uncertainty:
    """Percentile CI of an encoding score from its cross-validated predictions ``cv`` (no refit), and a
    permutation p-value of "score > 0".

    ``aggregate`` maps r ``(samples, splits, neuroids)`` to one score per sample; the default is
    :func:`median_of_split_means` with ``ceiling`` (so the CI belongs to ``Score.value``). See the module
    example.
    """
    return bootstrap_held_out([(cv, aggregate or median_of_split_means(ceiling), None)], n_samples=n_samples,
                              ci=ci, n_permutations=n_permutations, seed=seed)


def bootstrap_held_out(parts: Sequence[tuple[Any, Aggregate, Sequence[np.ndarray] | None]], *, n_samples: int = 1000,
                       ci: float = 0.95, n_permutations: int = 1000, seed: int | None = 0) -> Uncertainty:
    """Bootstrap CI and permutation p-value of the mean over ``parts`` of ``aggregate(r)``, each part a
    ``(cv, aggregate, groups)`` of cross-validated predictions on the same splits (e.g. the forward and reverse
    fits of bidirectional ridge). All parts share each sample's draws; ``groups`` (per split, a label per test
    row) makes rows of one label (the time bins of one stimulus) be drawn together.

    >>> from types import SimpleNamespace
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(30, 2))
    >>> cv = SimpleNamespace(predictions=[x], targets=[x + rng.normal(size=(30, 2))])
    >>> result = bootstrap_held_out([(cv, median_of_split_means(), None)], n_samples=200, n_permutations=99)
    >>> bool(result.ci_low < result.value < result.ci_high), result.p_value
    (True, 0.01)
    """
    if not parts:
        raise InvalidInputError("nothing to bootstrap: the metric recorded no held-out predictions")
    arrays = [split_arrays(cv) for cv, _, _ in parts]
    sizes = [p.shape[0] for p, _ in arrays[0]]
    for part in arrays:
        if [p.shape[0] for p, _ in part] != sizes:
            raise InvalidInputError("the held-out predictions to resample together have different test sets")
    groups = parts[0][2]
    counts = stimulus_counts(sizes, n_samples, seed) if groups is None else grouped_counts(groups, n_samples, seed)

    def combined(correlations: Sequence[np.ndarray]) -> np.ndarray:
        return np.mean([np.asarray(aggregate(r), dtype=float)
                        for (_, aggregate, _), r in zip(parts, correlations, strict=True)], axis=0)

    value = float(combined([observed_correlations(cv) for cv, _, _ in parts])[0])
    samples = combined([resampled_correlations(part, counts) for part in arrays])
    low, high = percentile_bounds(samples, ci, "encoding score")
    null_seed = None if seed is None else seed + 1
    null = combined([permutation_correlations(cv, n_permutations, null_seed) for cv, _, _ in parts])
    p_value = float((1 + np.sum(null >= value)) / (1 + n_permutations)) if math.isfinite(value) else math.nan
    resampled = "stimuli" if groups is None else "stimuli (all rows of a stimulus together)"
    return Uncertainty(value, samples, low, high, ci, p_value, "permutation of targets vs predictions", resampled)


def grouped_counts(groups: Sequence[np.ndarray], n_samples: int, seed: int | None = 0) -> list[np.ndarray]:
    """Like :func:`stimulus_counts`, but per split the distinct labels of ``groups`` are drawn and each row counts
    as often as its label was drawn.

    >>> counts = grouped_counts([np.array([0, 0, 1])], 4)[0]
    >>> bool((counts[:, 0] == counts[:, 1]).all()), counts[:, 1:].sum(1).tolist()
    (True, [2.0, 2.0, 2.0, 2.0])
    """
    codes = [np.unique(np.asarray(g), return_inverse=True)[1] for g in groups]
    label_counts = stimulus_counts([int(c.max()) + 1 for c in codes], n_samples, seed)
    return [counts[:, c] for counts, c in zip(label_counts, codes, strict=True)]


def percentile_bounds(samples: np.ndarray, ci: float, what: str) -> tuple[float, float]:
    """Percentile CI of the bootstrap ``samples`` of ``what``; NaN with one warning when no sample is finite.

    >>> [round(bound, 6) for bound in percentile_bounds(np.arange(101.0), 0.9, "score")]
    [5.0, 95.0]
    """
    if not np.isfinite(samples).any():
        warnings.warn(f"the bootstrap CI of the {what} is undefined: no bootstrap sample is finite; it is NaN",
                      RuntimeWarning, stacklevel=3)
        return math.nan, math.nan
    low, high = percentile_ci(samples, ci)
    return float(low), float(high)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Median of the multiset holding ``values[i]`` ``weights[b, i]`` times, per row ``b`` (NaN values ignored).

    >>> weighted_median(np.array([1.0, 2.0, 10.0]), np.array([[1, 1, 1], [2, 0, 1], [0, 1, 1]])).tolist()
    [2.0, 1.0, 6.0]
    """
    finite = np.isfinite(values)
    order = np.argsort(np.where(finite, values, np.inf))[: int(finite.sum())]
    sorted_values = values[order]
    cumulative = np.cumsum(weights[:, order], axis=1)
    total = cumulative[:, -1:]
    lower = (cumulative <= (total - 1) // 2).sum(1)
    upper = (cumulative <= total // 2).sum(1)
    out = (sorted_values[np.minimum(lower, order.size - 1)] + sorted_values[np.minimum(upper, order.size - 1)]) / 2
    return np.where(total[:, 0] > 0, out, np.nan)


def bootstrap_subjects(cv: Any, subjects: Sequence[Any] | np.ndarray, *, n_samples: int = 1000,
                       ci: float = 0.95, ceiling: np.ndarray | None = None, seed: int | None = 0) -> Uncertainty:
    """Percentile CI of the default encoding score when subjects are drawn with replacement: a drawn subject
    contributes all its neuroids (``subjects`` holds each neuroid's subject, e.g. the responses' ``subject``
    coordinate), and the score is the median over the pooled neuroids. The p-value is the bootstrap share of
    samples ≤ 0 (``(1 + #) / (1 + n_samples)``).

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 6))
    >>> cv = SimpleNamespace(predictions=[x], targets=[x + rng.normal(size=(40, 6))])
    >>> result = bootstrap_subjects(cv, ["a", "a", "b", "b", "c", "c"], n_samples=200)
    >>> bool(0.4 < result.ci_low < result.value < result.ci_high < 0.9)
    True
    """
    subjects = np.asarray(subjects)
    r = observed_correlations(cv)[0]
    if subjects.shape != (r.shape[1],):
        raise InvalidInputError(f"subjects needs one label per neuroid ({r.shape[1]}); got shape {subjects.shape}")
    names, codes = np.unique(subjects, return_inverse=True)
    if names.size < 2:
        raise InvalidInputError(f"a subject bootstrap needs at least 2 subjects; got {names.tolist()}")
    values = neuroid_values(r, ceiling)
    draws = np.random.default_rng(seed).integers(0, names.size, (n_samples, names.size))
    subject_counts = np.zeros((n_samples, names.size), dtype=np.int64)
    np.add.at(subject_counts, (np.arange(n_samples)[:, None], draws), 1)
    samples = weighted_median(values, subject_counts[:, codes])
    value = float(weighted_median(values, np.ones((1, values.size), dtype=np.int64))[0])
    low, high = percentile_bounds(samples, ci, "encoding score")
    p_value = float((1 + np.sum(samples <= 0)) / (1 + n_samples))
    return Uncertainty(value, samples, low, high, ci, p_value, "bootstrap share of samples <= 0", "subjects")
