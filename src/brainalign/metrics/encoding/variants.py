"""Registered encoding metrics beyond ridge: other mappings, other directions, time bins as samples.

All reuse :func:`~brainalign.metrics.encoding.engine.encoding_score` (the one CV engine) and the encoding Score
convention (``raw`` = median over predicted columns of the split-mean held-out r; optional per-neuroid ceiling).

* ``crossregressed-correlation``: Brain-Score's protocol (PLS-25 or ridge, 10 seeded 90/10 splits, median over
  neuroids per split, mean over splits, optional internal-consistency ceiling and ``(r / ceiling)²``).
* ``pls`` (Brain-Score's default: 25 components, no scaling), ``ols``, ``neuron-to-neuron``: model → brain.
* ``reverse-ridge``: brain → model, scored over model units (how much of the model the brain explains).
* ``bidirectional-ridge``: the mean of the forward and reverse raw scores.
* ``spantime-ridge`` / ``spantime-pls``: responses with a ``time`` dim; each (stimulus, time bin) is a sample,
  splits keep all bins of a stimulus together.

>>> from brainalign.data.synthetic import simulated_brain
>>> brain = simulated_brain(n_stimuli=120, n_features=30, n_neuroids=5, snr=4.0)
>>> round(pls_encoding(brain.features, brain.responses, n_components=5).raw, 1)
0.9
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import (
    NEUROID,
    REPETITION,
    STIMULUS,
    TIME,
    align,
    check_finite,
    make_features,
    make_responses,
    stimulus_ids,
)
from brainalign.core.score import Score
from brainalign.mapping.cv import Splits
from brainalign.mapping.linear import LinearRegression, NeuronToNeuron
from brainalign.mapping.pls import BRAIN_SCORE_COMPONENTS, PLSRegression
from brainalign.mapping.ridge import CV, DEFAULT_ALPHAS, DEFAULT_CV, RidgeCV
from brainalign.metrics.ceilings.reliability import internal_consistency
from brainalign.metrics.encoding.engine import (
    BRAIN_SCORE_SEED,
    SPLIT_ERROR,
    brain_score_splits,
    encoding_matrices,
    encoding_score,
    resolve_splits,
)
from brainalign.metrics.registry import register_metric


@register_metric("pls")
def pls_encoding(source: xr.DataArray, target: xr.DataArray, *, n_components: int = BRAIN_SCORE_COMPONENTS,
                 splits: Splits | None = None, n_splits: int = 5, seed: int = 0,
                 ceiling: np.ndarray | None = None) -> Score:
    """PLS encoding (Brain-Score's mapping), cross-validated by :func:`encoding_score`."""
    score = encoding_score(source, target, PLSRegression(n_components=n_components), "pls", splits=splits,
                           n_splits=n_splits, seed=seed, ceiling=ceiling)
    score.provenance["n_components"] = n_components
    return score


CROSS_REGRESSIONS = ("pls", "ridge")
CROSS_CEILINGS = ("internal-consistency",)


@register_metric("crossregressed-correlation")
def cross_regressed_correlation(source: xr.DataArray, target: xr.DataArray, *, regression: str = "pls",
                                ceiling: str | float | None = None, stratify_coord: str | None = None,
                                n_splits: int = 10, seed: int = BRAIN_SCORE_SEED,
                                n_components: int = BRAIN_SCORE_COMPONENTS) -> Score:
    """Brain-Score's ``CrossRegressedCorrelation``: ``regression`` (PLS-25 without scaling, or ridge) fitted on
    :func:`~brainalign.metrics.encoding.engine.brain_score_splits` (stratified by the stimulus coordinate
    ``stratify_coord`` when given), held-out Pearson r per neuroid, median over neuroids per split, mean over
    splits. ``ceiling="internal-consistency"`` computes Brain-Score's ceiling from the target's repetitions
    (a float is used as given); the value is then ``clip((raw / ceiling)², 0, 1)``.

    >>> from brainalign.data.synthetic import simulated_brain
    >>> brain = simulated_brain(n_stimuli=100, n_features=8, n_neuroids=4, snr=4.0)
    >>> score = cross_regressed_correlation(brain.features, brain.responses, n_components=5)
    >>> bool(score.raw > 0.8), score.per_split.shape
    (True, (10,))
    """
    if regression not in CROSS_REGRESSIONS:
        raise UnknownNameError("regression", regression, CROSS_REGRESSIONS)
    if isinstance(ceiling, str):
        if ceiling not in CROSS_CEILINGS:
            raise UnknownNameError("ceiling", ceiling, CROSS_CEILINGS)
        if REPETITION not in target.dims:
            raise InvalidInputError("ceiling 'internal-consistency' needs responses with a 'repetition' dim; "
                                    f"got {target.dims} (repeat-averaged data have no ceiling: pass ceiling=None)")
        ceiling = internal_consistency(align(source, target)[1], seed=seed).value
    _, aligned = align(source, target)
    stratify = None
    if stratify_coord is not None:
        if stratify_coord not in aligned.coords:
            raise InvalidInputError(f"stratify_coord {stratify_coord!r} is not a coordinate of the responses; "
                                    f"valid: {sorted(map(str, aligned.coords))}")
        stratify = list(aligned[stratify_coord].values)
    splits = brain_score_splits(aligned.sizes[STIMULUS], stratify, n_splits=n_splits, seed=seed)
    estimator = (PLSRegression(n_components=n_components) if regression == "pls"
                 else RidgeCV(alphas=DEFAULT_ALPHAS, cv=DEFAULT_CV, seed=seed))
    score = encoding_score(source, target, estimator, "crossregressed-correlation", splits=splits, seed=seed,
                           ceiling=ceiling, aggregation="brain-score")
    score.provenance.update(regression=regression, n_components=n_components if regression == "pls" else None)
    return score


@register_metric("ols")
def ols_encoding(source: xr.DataArray, target: xr.DataArray, *, splits: Splits | None = None, n_splits: int = 5,
                 seed: int = 0, ceiling: np.ndarray | None = None) -> Score:
    """Ordinary least squares encoding (minimum-norm when units outnumber training stimuli)."""
    return encoding_score(source, target, LinearRegression(), "ols", splits=splits, n_splits=n_splits, seed=seed,
                          ceiling=ceiling)


@register_metric("neuron-to-neuron")
def neuron_to_neuron_encoding(source: xr.DataArray, target: xr.DataArray, *, splits: Splits | None = None,
                              n_splits: int = 5, seed: int = 0, ceiling: np.ndarray | None = None) -> Score:
    """Each neuroid predicted by its best-correlated model unit on the training stimuli, scored on held-out ones."""
    return encoding_score(source, target, NeuronToNeuron(signed=False), "neuron-to-neuron", splits=splits,
                          n_splits=n_splits, seed=seed, ceiling=ceiling)


def swap_direction(source: xr.DataArray, target: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Responses as `Features` and features as `Responses` (repetitions averaged), for brain → model encoding.

    >>> import numpy as np
    >>> f = make_features(np.ones((2, 3)), ["a", "b"]); r = make_responses(np.zeros((2, 4)), ["b", "a"])
    >>> [a.shape for a in swap_direction(f, r)]
    [(2, 4), (2, 3)]
    """
    X, Y = encoding_matrices(source, target)
    ids = stimulus_ids(align(source, target)[1])
    return make_features(Y, ids), make_responses(X, ids)


@register_metric("reverse-ridge")
def reverse_ridge_encoding(source: xr.DataArray, target: xr.DataArray, *,
                           alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
                           inner_cv: CV = DEFAULT_CV,
                           splits: Splits | None = None, n_splits: int = 5, seed: int = 0,
                           ceiling: np.ndarray | None = None) -> Score:
    """Ridge from brain responses to model units; the score is the median held-out r over model units."""
    return encoding_score(*swap_direction(source, target), RidgeCV(alphas=alphas, cv=inner_cv, seed=seed),
                          "reverse-ridge", splits=splits, n_splits=n_splits, seed=seed, ceiling=ceiling)


@register_metric("bidirectional-ridge")
def bidirectional_ridge_encoding(source: xr.DataArray, target: xr.DataArray, *,
                                 alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
                                 inner_cv: CV = DEFAULT_CV, splits: Splits | None = None,
                                 n_splits: int = 5, seed: int = 0, ceiling: np.ndarray | None = None) -> Score:
    """Mean of forward (model → brain) and reverse (brain → model) ridge raw scores, both in ``extra``."""
    if ceiling is not None:
        raise InvalidInputError("bidirectional-ridge has no ceiling: the reverse direction predicts model units")
    ridge = RidgeCV(alphas=alphas, cv=inner_cv, seed=seed)
    common: dict[str, Any] = dict(splits=splits, n_splits=n_splits, seed=seed)
    forward = encoding_score(source, target, ridge, "ridge", **common)
    reverse = encoding_score(*swap_direction(source, target), ridge, "reverse-ridge", **common)
    per_split = (np.asarray(forward.per_split) + np.asarray(reverse.per_split)) / 2
    score = Score(value=(forward.raw + reverse.raw) / 2, per_split=per_split,
                  extra={"forward": forward.raw, "reverse": reverse.raw, "error_kind": SPLIT_ERROR})
    score.error = float(np.std(per_split, ddof=1) / np.sqrt(len(per_split)))
    score.provenance.update(forward.provenance, metric="bidirectional-ridge")
    return score


def flatten_time(source: xr.DataArray, target: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, np.ndarray]:
    """Samples = (stimulus, time bin) pairs: returns flattened features, responses and each sample's stimulus index.

    ``target`` has dims ``stimulus × neuroid × time`` (+ optional ``repetition``, averaged); ``source`` is
    ``stimulus × unit`` (repeated for every bin) or ``stimulus × unit × time`` with the same time bins.

    >>> import numpy as np
    >>> r = make_responses(np.zeros((3, 2, 4)), ["a", "b", "c"], dims=("stimulus", "neuroid", "time"))
    >>> f, t, stim = flatten_time(make_features(np.ones((3, 5)), ["a", "b", "c"]), r)
    >>> f.shape, t.shape, stim.tolist()[:5]
    ((12, 5), (12, 2), [0, 0, 0, 0, 1])
    """
    source, target = align(source, target)
    if TIME not in target.dims:
        raise InvalidInputError(f"spantime encoding needs responses with a '{TIME}' dim; got {target.dims}")
    if REPETITION in target.dims:
        target = target.mean(REPETITION, skipna=True)
    target = target.transpose(STIMULUS, TIME, NEUROID)
    n_stimuli, n_bins, n_neuroids = target.shape
    if TIME in source.dims:
        if source.sizes[TIME] != n_bins:
            raise InvalidInputError(f"source has {source.sizes[TIME]} time bins, target {n_bins}")
        X = np.asarray(source.transpose(STIMULUS, TIME, ...).values).reshape(n_stimuli * n_bins, -1)
    else:
        X = np.repeat(np.asarray(source.values).reshape(n_stimuli, -1), n_bins, axis=0)
    Y = np.asarray(target.values).reshape(n_stimuli * n_bins, n_neuroids)
    check_finite(Y, "target responses (after averaging repetitions)")
    ids = [f"{s}|t{b}" for s in stimulus_ids(target) for b in range(n_bins)]
    neuroid_coords = {str(name): c.values for name, c in target.coords.items() if c.dims == (NEUROID,)}
    return (make_features(X, ids), make_responses(Y, ids, neuroid_coords=neuroid_coords),
            np.repeat(np.arange(n_stimuli), n_bins))


SPANTIME_REGRESSIONS = ("ridge", "pls")


def spantime_encoding(source: xr.DataArray, target: xr.DataArray, *, regression: str = "ridge",
                      alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS, inner_cv: CV = DEFAULT_CV,
                      n_components: int = BRAIN_SCORE_COMPONENTS, splits: Splits | None = None, n_splits: int = 5,
                      seed: int = 0, ceiling: np.ndarray | None = None) -> Score:
    """Encoding with time bins treated as samples; ``splits`` (over stimuli) are expanded to their time bins."""
    if regression not in SPANTIME_REGRESSIONS:
        raise UnknownNameError("spantime regression", regression, SPANTIME_REGRESSIONS)
    estimator = (RidgeCV(alphas=alphas, cv=inner_cv, seed=seed) if regression == "ridge"
                 else PLSRegression(n_components=n_components))
    features, responses, stimulus_of_sample = flatten_time(source, target)
    splits = resolve_splits(int(stimulus_of_sample.max()) + 1, splits, n_splits, seed)
    sample_splits = [(np.flatnonzero(np.isin(stimulus_of_sample, train)),
                      np.flatnonzero(np.isin(stimulus_of_sample, test))) for train, test in splits]
    return encoding_score(features, responses, estimator, f"spantime-{regression}", splits=sample_splits, seed=seed,
                          ceiling=ceiling, groups=stimulus_of_sample)


spantime_ridge_encoding = register_metric("spantime-ridge")(functools.partial(spantime_encoding, regression="ridge"))
spantime_pls_encoding = register_metric("spantime-pls")(functools.partial(spantime_encoding, regression="pls"))
