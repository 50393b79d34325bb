"""Pairwise comparison of models (or layers) on one benchmark: a paired bootstrap with shared resamples.

Every model's held-out predictions are resampled with the SAME draws (of test stimuli within each split, or
of subjects), so the bootstrap distribution of each difference keeps the pairing. The two-sided p-value of
"no difference" is the share of centred bootstrap differences at least as far from 0 as the observed one,
``p = (1 + #{|d* - d| >= |d|}) / (1 + n_samples)``, then corrected over all pairs (``stats.multiple_comparisons``).

>>> import numpy as np
>>> from types import SimpleNamespace
>>> rng = np.random.default_rng(0)
>>> y = rng.normal(size=(60, 4))
>>> good = SimpleNamespace(predictions=[y + rng.normal(size=(60, 4))], targets=[y], splits=[(None, np.arange(60))])
>>> bad = SimpleNamespace(predictions=[y + 3 * rng.normal(size=(60, 4))], targets=[y], splits=good.splits)
>>> table = compare_scores({"good": good, "bad": bad}, n_samples=500)
>>> table[["model_a", "model_b"]].values.tolist(), bool(table.p_value[0] < 0.01)
([['good', 'bad']], True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.metrics.encoding.bootstrap import (
    Aggregate,
    median_of_split_means,
    neuroid_values,
    observed_correlations,
    resampled_correlations,
    split_arrays,
    stimulus_counts,
    weighted_median,
)
from brainalign.stats.bootstrap import percentile_ci
from brainalign.stats.multiple_comparisons import adjust

RESAMPLE = ("stimuli", "subjects")


def compare_scores(results: Mapping[str, Any], *, n_samples: int = 1000, ci: float = 0.95,
                   resample: Literal["stimuli", "subjects"] = "stimuli", subjects: Sequence[Any] | None = None,
                   aggregate: Aggregate | None = None, ceiling: np.ndarray | None = None,
                   correction: str = "fdr_bh", seed: int | None = 0) -> pd.DataFrame:
    """Paired bootstrap comparison of every pair of cross-validated predictions in ``results`` (name →
    ``CrossValidatedPredictions`` of the same splits and targets): one row per pair with both scores, their
    difference, its percentile CI, p-value and corrected p-value (``correction``: bonferroni, fdr_bh, none).

    ``resample="stimuli"`` draws each split's test stimuli (``aggregate`` on r ``(samples, splits, neuroids)``,
    default :func:`median_of_split_means` with ``ceiling``); ``"subjects"`` draws subjects (``subjects``: each
    neuroid's subject) and scores the median over the drawn subjects' neuroids. See the module example.
    """
    if resample not in RESAMPLE:
        raise UnknownNameError("resampling", resample, RESAMPLE)
    names = list(results)
    if len(names) < 2:
        raise InvalidInputError(f"comparing needs at least 2 models; got {names}")
    arrays = {name: split_arrays(cv) for name, cv in results.items()}
    _check_paired(results, arrays)
    if resample == "stimuli":
        aggregate = aggregate or median_of_split_means(ceiling)
        counts = stimulus_counts([p.shape[0] for p, _ in arrays[names[0]]], n_samples, seed)
        observed = {name: float(aggregate(observed_correlations(cv))[0]) for name, cv in results.items()}
        samples = {name: np.asarray(aggregate(resampled_correlations(arrays[name], counts))) for name in names}
    else:
        observed, samples = _subject_samples(results, subjects, ceiling, n_samples, seed)
    rows = []
    for a, b in combinations(names, 2):
        difference = observed[a] - observed[b]
        spread = samples[a] - samples[b]
        low, high = percentile_ci(spread, ci)
        finite = spread[np.isfinite(spread)]
        p_value = float((1 + np.sum(np.abs(finite - difference) >= abs(difference))) / (1 + finite.size))
        rows.append({"model_a": a, "model_b": b, "score_a": observed[a], "score_b": observed[b],
                     "difference": difference, "ci_low": float(low), "ci_high": float(high), "p_value": p_value})
    table = pd.DataFrame(rows)
    table["p_adjusted"] = adjust(table.p_value.to_numpy(), correction)
    table["correction"], table["resampled"], table["n_samples"] = correction, resample, n_samples
    return table


def _check_paired(results: Mapping[str, Any], arrays: Mapping[str, list]) -> None:
    """All results must hold the same test stimuli per split and the same targets."""
    first_name, first = next(iter(results.items()))
    for name, cv in results.items():
        same_splits = len(cv.splits) == len(first.splits) and all(
            np.array_equal(np.asarray(t), np.asarray(t0))
            for (_, t), (_, t0) in zip(cv.splits, first.splits, strict=True))
        same_targets = same_splits and all(np.array_equal(y, y0) for (_, y), (_, y0)
                                           in zip(arrays[name], arrays[first_name], strict=True))
        if not same_targets:
            raise InvalidInputError(f"{name!r} and {first_name!r} were not scored on the same splits and targets; "
                                    "a paired comparison needs identical splits (pass the same splits or seed)")


def _subject_samples(results: Mapping[str, Any], subjects: Sequence[Any] | None, ceiling: np.ndarray | None,
                     n_samples: int, seed: int | None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    if subjects is None:
        raise InvalidInputError("resample='subjects' needs subjects (each neuroid's subject)")
    names, codes = np.unique(np.asarray(subjects), return_inverse=True)
    if names.size < 2:
        raise InvalidInputError(f"a subject bootstrap needs at least 2 subjects; got {names.tolist()}")
    draws = np.random.default_rng(seed).integers(0, names.size, (n_samples, names.size))
    counts = np.zeros((n_samples, names.size), dtype=np.int64)
    np.add.at(counts, (np.arange(n_samples)[:, None], draws), 1)
    observed, samples = {}, {}
    for name, cv in results.items():
        values = neuroid_values(observed_correlations(cv)[0], ceiling)
        if values.shape != codes.shape:
            raise InvalidInputError(f"subjects needs one label per neuroid ({values.size}); got {codes.size}")
        observed[name] = float(weighted_median(values, np.ones((1, values.size), dtype=np.int64))[0])
        samples[name] = weighted_median(values, counts[:, codes])
    return observed, samples
