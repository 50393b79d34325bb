"""Encoding metrics: predict each neuroid from model features on held-out stimuli, score by Pearson r.

One cross-validation engine serves every metric that fits a mapping: :func:`cross_validated_predictions`
clones an estimator per split (``sklearn.base.clone``), fits it on the training stimuli and returns the
held-out predictions of each split (plus per-split fitted info, e.g. chosen alphas). :func:`encoding_score`,
the one encoding entry point, aligns features and responses, runs the engine and summarises the held-out
correlations with :func:`score_correlations`; ``ridge`` (:func:`ridge_encoding`) and the variants, stacking,
veRSA and partitioning are built on the same engine. Compute settings (backend, device, dtype) come from
``brainalign.core.config``.

Score convention: ``r_i`` is neuroid i's correlation averaged over splits; ``raw = median_i r_i``.
With a ceiling ``c_i`` (reliability, variance units), neuroids with ``c_i <= 0`` or NaN are dropped,
``n_i = r_i |r_i| / c_i`` (explained variance over explainable variance), ``value = median_i n_i``
and ``ceiling = median_i c_i``. ``error`` is the SEM over splits of each split's value (named in
``extra["error_kind"]``). ``per_neuroid`` is labelled with the responses' neuroid coordinates.

Inside :func:`recording_held_out`, every :func:`encoding_score` also records its held-out predictions and how its
``value`` aggregates their r (a `HeldOut`), so a bootstrap can resample them without refitting
(``stats.uncertainty``).

``aggregation="brain-score"`` follows Brain-Score's CrossRegressedCorrelation instead: ``per_split`` is the median
over neuroids of each split's r, ``raw`` their mean over splits, ``error`` the SEM over splits as Brain-Score
computes it (``std(ddof=0) / sqrt(n_splits)``); a scalar ceiling ``c`` (correlation units, e.g.
``internal_consistency``) gives ``value = clip((raw / c)², 0, 1)`` (Brain-Score's ``explained_variance``), the
unclamped value in ``extra["unclamped"]``. :func:`brain_score_splits` are its 10 seeded 90/10 splits.

>>> from brainalign.data.synthetic import simulated_brain
>>> brain = simulated_brain(n_stimuli=200, n_features=5, n_neuroids=4, snr=4.0)
>>> score = ridge_encoding(brain.features, brain.responses, ceiling=brain.reliability)
>>> bool(0.9 < score.value < 1.1), score.per_split.shape, score.per_neuroid.dims
(True, (5,), ('neuroid',))
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from array_api_compat import device as _device_of
from sklearn.base import clone
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from brainalign.core.backend import asarray, namespace, to_numpy
from brainalign.core.config import compute_settings, get_config
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, align, check_finite
from brainalign.core.score import Score
from brainalign.mapping.correlation import pearson_r
from brainalign.mapping.cv import Splits, check_splits, kfold_splits
from brainalign.mapping.ridge import CV, DEFAULT_ALPHAS, DEFAULT_CV, RidgeCV
from brainalign.metrics.encoding.bootstrap import Aggregate, brain_score_aggregate, median_of_split_means
from brainalign.metrics.registry import register_metric

SPLIT_ERROR = "SEM over splits"
BRAIN_SCORE_SPLIT_ERROR = "SEM over splits (std ddof=0, as Brain-Score)"


@dataclass
class CrossValidatedPredictions:
    """Per split: held-out predictions and measured targets (arrays of the compute context), the split itself,
    and what ``summarize`` reported about the estimator fitted on its training stimuli."""

    predictions: list[Any]
    targets: list[Any]
    splits: Splits
    fitted: list[Any] = field(default_factory=list)

    def correlations(self) -> np.ndarray:
        """Held-out Pearson r, splits × targets."""
        return (np.stack([to_numpy(pearson_r(p, y)) for p, y in zip(self.predictions, self.targets, strict=True)])
                        .astype(float))

    def out_of_fold(self) -> np.ndarray:
        """One prediction per stimulus (stimuli × targets), from the split that held it out.

        The splits must partition the stimuli (every stimulus in exactly one test set).
        """
        n = 1 + max(int(test.max()) for _, test in self.splits)
        pooled = np.full((n, self.predictions[0].shape[1]), np.nan)
        for (_, test), predicted in zip(self.splits, self.predictions, strict=True):
            pooled[test] = to_numpy(predicted)
        if np.isnan(pooled).any():
            raise InvalidInputError("the splits do not test every row once; out-of-fold predictions need a partition")
        return pooled


@dataclass
class HeldOut:
    """What one :func:`encoding_score` computed its ``value`` from: the held-out ``predictions``, the
    ``aggregate`` mapping r ``(samples, splits, neuroids)`` to ``value`` per sample, and optionally per split
    the ``groups`` of its test rows (rows of one group, e.g. the time bins of one stimulus, are resampled together)."""

    predictions: CrossValidatedPredictions
    aggregate: Aggregate
    groups: list[np.ndarray] | None = None


_RECORDS: ContextVar[list[HeldOut] | None] = ContextVar("held_out_records", default=None)


@contextmanager
def recording_held_out() -> Iterator[list[HeldOut]]:
    """Collect a `HeldOut` for every :func:`encoding_score` run inside the block, in call order.

    >>> from brainalign.data.synthetic import simulated_brain
    >>> brain = simulated_brain(n_stimuli=40, n_features=3, n_neuroids=2)
    >>> with recording_held_out() as records:
    ...     score = ridge_encoding(brain.features, brain.responses)
    >>> len(records), float(records[0].aggregate(records[0].predictions.correlations()[None])[0]) == score.value
    (1, True)
    """
    records: list[HeldOut] = []
    token = _RECORDS.set(records)
    try:
        yield records
    finally:
        _RECORDS.reset(token)


def cross_validated_predictions(estimator: Any, X: Any, Y: Any, splits: Splits, *,
                                summarize: Callable[[Any], Any] | None = None) -> CrossValidatedPredictions:
    """Fit a clone of ``estimator`` on each split's training rows and predict its test rows.

    ``X`` (stimuli × features) and ``Y`` (stimuli × targets; 1-D is one target) are converted to the
    compute context's backend, device and dtype (torch inputs keep theirs: ``core.config.compute_settings``);
    ``summarize(fitted_estimator)`` is kept per split.

    >>> import numpy as np
    >>> from brainalign.mapping.linear import LinearRegression
    >>> X = np.arange(12.0)[:, None]
    >>> cv = cross_validated_predictions(LinearRegression(), X, 2 * X, kfold_splits(12, 3))
    >>> len(cv.predictions), cv.out_of_fold()[:3, 0].round(3).tolist()
    (3, [0.0, 2.0, 4.0])
    """
    backend, device, dtype, _ = compute_settings(X, Y)
    X, Y = asarray(X, backend, device, dtype), asarray(Y, backend, device, dtype)
    Y = Y[:, None] if Y.ndim == 1 else Y
    splits = check_splits(splits, X.shape[0])
    xp = namespace(X)
    predictions, targets, fitted = [], [], []
    for train, test in splits:
        train_index, test_index = (xp.asarray(i, device=_device_of(X)) for i in (train, test))
        model = clone_estimator(estimator).fit(xp.take(X, train_index, axis=0), xp.take(Y, train_index, axis=0))
        predicted = asarray(model.predict(xp.take(X, test_index, axis=0)), backend, device, dtype)
        predictions.append(xp.reshape(predicted, (len(test), -1)))
        targets.append(xp.take(Y, test_index, axis=0))
        if summarize is not None:
            fitted.append(summarize(model))
    return CrossValidatedPredictions(predictions, targets, splits, fitted)


def clone_estimator(estimator: Any) -> Any:
    """An unfitted copy of ``estimator`` with the same parameters (``sklearn.base.clone``; a deep copy for
    objects without ``get_params``). Compute settings come from the context when it is fitted.

    >>> from brainalign.mapping.ridge import RidgeCV
    >>> ridge = RidgeCV([1.0, 10.0], cv=3)
    >>> copy = clone_estimator(ridge)
    >>> copy is not ridge, copy.cv
    (True, 3)
    """
    return clone(estimator, safe=False)


def resolve_splits(n: int, splits: Splits | None = None, n_splits: int = 5, seed: int = 0) -> Splits:
    """The given ``splits`` (checked against ``n`` stimuli), else ``n_splits`` seeded shuffled folds.

    >>> [test.tolist() for _, test in resolve_splits(4, [([0, 1], [2, 3])])]
    [[2, 3]]
    """
    return kfold_splits(n, n_splits, shuffle=True, seed=seed) if splits is None else check_splits(splits, n)


BRAIN_SCORE_SEED = 1  # Brain-Score's CrossValidation random_state


def brain_score_splits(n: int, stratify: Sequence[Any] | None = None, n_splits: int = 10, train_size: float = 0.9,
                       seed: int = BRAIN_SCORE_SEED) -> Splits:
    """Brain-Score's cross-validation splits: ``n_splits`` seeded random 90/10 splits of ``n`` stimuli,
    stratified by ``stratify`` (one label per stimulus, e.g. object names) when given.

    >>> [(len(train), len(test)) for train, test in brain_score_splits(20)][:2]
    [(18, 2), (18, 2)]
    """
    test_size = 1 - train_size
    if stratify is None:
        splitter: Any = ShuffleSplit(n_splits=n_splits, train_size=train_size, test_size=test_size, random_state=seed)
        labels = np.zeros(n)
    else:
        labels = np.asarray(stratify)
        if labels.shape != (n,):
            raise InvalidInputError(f"stratify needs one label per stimulus ({n}); got shape {labels.shape}")
        splitter = StratifiedShuffleSplit(n_splits=n_splits, train_size=train_size, test_size=test_size,
                                          random_state=seed)
    return [(np.asarray(train), np.asarray(test)) for train, test in splitter.split(np.zeros(n), labels)]


MIN_STIMULI = 4


def undefined_reason(X: Any, Y: Any) -> str | None:
    """Why a cross-validated comparison of ``X`` and ``Y`` (stimuli × columns) is undefined, or None.

    >>> undefined_reason(np.zeros((5, 2)), np.eye(5))
    'the source is constant across stimuli'
    """
    X, Y = to_numpy(X), to_numpy(Y)
    if X.shape[0] < MIN_STIMULI:
        return f"only {X.shape[0]} stimuli (at least {MIN_STIMULI} are needed)"
    for name, values in (("source", X), ("target", Y)):
        if not np.ptp(values, axis=0).any():
            return f"the {name} is constant across stimuli"
    return None


def undefined_score(reason: str, metric: str, **provenance: Any) -> Score:
    """A NaN `Score`, with one warning saying why the ``metric`` is undefined.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     undefined_score("only 3 stimuli", "versa").value, str(caught[0].message)
    (nan, 'versa is undefined: only 3 stimuli; the score is NaN')
    """
    warnings.warn(f"{metric} is undefined: {reason}; the score is NaN", RuntimeWarning, stacklevel=3)
    return Score(value=math.nan, provenance={"metric": metric, **provenance})


def encoding_matrices(source: xr.DataArray, target: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Aligned, finite ``(stimulus × unit)`` and ``(stimulus × neuroid)`` matrices of a features/responses pair.

    >>> import numpy as np
    >>> from brainalign.core.labels import make_features, make_responses
    >>> reps = make_responses(np.array([[[1.0, np.nan]], [[2.0, 4.0]]]), ["a", "b"],
    ...                       dims=("stimulus", "neuroid", "repetition"))
    >>> encoding_matrices(make_features(np.eye(2), ["b", "a"]), reps)[1].tolist()
    [[1.0], [3.0]]
    """
    X, Y, _ = _encoding_arrays(source, target)
    return X, Y


def _encoding_arrays(source: xr.DataArray, target: xr.DataArray) -> tuple[np.ndarray, np.ndarray, xr.DataArray]:
    """:func:`encoding_matrices` plus the aligned, repetition-averaged responses (for their neuroid labels)."""
    source, target = align(source, target)
    if REPETITION in target.dims:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN stimuli are reported by check_finite
            target = target.mean(REPETITION, skipna=True)
    if set(target.dims) != {STIMULUS, NEUROID}:
        raise InvalidInputError(f"encoding needs target dims ({STIMULUS}, {NEUROID}[, {REPETITION}]); got "
                                f"{target.dims}: select or average other dims (e.g. one time bin) first")
    X = np.asarray(source.values)
    Y = np.asarray(target.transpose(STIMULUS, NEUROID).values)
    check_finite(X, "source features")
    check_finite(Y, "target responses (after averaging repetitions)")
    return X, Y, target


def label_neuroids(values: Any, responses: xr.DataArray | None) -> Any:
    """``values`` (one per neuroid) as a DataArray over ``neuroid`` with the responses' neuroid coordinates.

    >>> from brainalign.core.labels import make_responses
    >>> r = make_responses(np.zeros((2, 2)), ["a", "b"], neuroid_coords={"region": ["IT", "V4"]})
    >>> label_neuroids(np.array([0.5, 0.2]), r).region.values.tolist()
    ['IT', 'V4']
    """
    if responses is None:
        return values
    coords = {name: coord for name, coord in responses.coords.items() if coord.dims == (NEUROID,)}
    return xr.DataArray(np.asarray(values), dims=(NEUROID,), coords=coords)


AGGREGATIONS = ("neuroid-median", "brain-score")


def score_correlations(correlations: np.ndarray, ceiling: np.ndarray | float | None = None,
                       responses: xr.DataArray | None = None, aggregation: str = "neuroid-median") -> Score:
    """`Score` from held-out correlations (splits × neuroids), ceiling-normalised when ``ceiling`` is given;
    ``per_neuroid`` carries the neuroid coordinates of ``responses`` when given.

    >>> import numpy as np
    >>> s = score_correlations(np.array([[0.5, 0.6], [0.7, 0.6]]), ceiling=np.array([0.36, 0.0]))
    >>> round(s.value, 3), round(s.raw, 3), s.ceiling, s.extra["n_dropped_ceiling"]
    (1.0, 0.6, 0.36, 1)
    >>> s = score_correlations(np.array([[0.5, 0.6], [0.7, 0.6]]), ceiling=0.5, aggregation="brain-score")
    >>> round(s.raw, 3), s.value, round(s.extra["unclamped"], 3)
    (0.6, 1.0, 1.44)
    """
    if aggregation not in AGGREGATIONS:
        raise UnknownNameError("aggregation", aggregation, AGGREGATIONS)
    if aggregation == "brain-score":
        return _brain_score_summary(np.asarray(correlations, dtype=float), ceiling, responses)
    correlations = np.asarray(correlations, dtype=float)
    n_splits, n_neuroids = correlations.shape
    r = _nanmean_rows(correlations)
    extra: dict[str, Any] = {"n_neuroids": n_neuroids, "n_splits": n_splits,
                             "n_neuroids_nan": int(np.isnan(r).sum())}
    if ceiling is None:
        per_neuroid, per_split, ceiling_value = r, _nanmedian_rows(correlations), math.nan
    else:
        c = np.asarray(ceiling, dtype=float)
        if c.shape != (n_neuroids,):
            raise InvalidInputError(f"ceiling needs one value per neuroid ({n_neuroids}); got shape {c.shape}")
        keep = np.isfinite(c) & (c > 0)
        extra.update(n_dropped_ceiling=int((~keep).sum()), raw_per_neuroid=r)
        if not keep.any():
            warnings.warn("no neuroid has a positive ceiling; the normalised score is NaN", RuntimeWarning,
                          stacklevel=2)
        safe_c = np.where(keep, c, np.nan)
        per_neuroid = r * np.abs(r) / safe_c
        per_split = _nanmedian_rows(correlations * np.abs(correlations) / safe_c)
        ceiling_value = _nanmedian(safe_c)
    error = float(np.std(per_split, ddof=1) / np.sqrt(n_splits)) if n_splits > 1 else math.nan
    if n_splits > 1:
        extra["error_kind"] = SPLIT_ERROR
    return Score(value=_nanmedian(per_neuroid), raw=_nanmedian(r), ceiling=ceiling_value, error=error,
                 per_neuroid=label_neuroids(per_neuroid, responses), per_split=per_split, extra=extra)


def _brain_score_summary(correlations: np.ndarray, ceiling: np.ndarray | float | None,
                         responses: xr.DataArray | None) -> Score:
    """Brain-Score's CrossRegressedCorrelation aggregation and ``explained_variance`` normalisation."""
    n_splits, n_neuroids = correlations.shape
    per_split = _nanmedian_rows(correlations)
    raw = float(np.mean(per_split))
    extra: dict[str, Any] = {"n_neuroids": n_neuroids, "n_splits": n_splits, "aggregation": "brain-score",
                             "error_kind": BRAIN_SCORE_SPLIT_ERROR,
                             "units": {"raw": "Pearson r", "ceiling": "Pearson r", "value": "(r / ceiling)^2"}}
    error = float(np.std(per_split) / np.sqrt(n_splits))
    per_neuroid = label_neuroids(_nanmean_rows(correlations), responses)
    if ceiling is None:
        extra["units"] = {"raw": "Pearson r", "value": "Pearson r"}
        return Score(value=raw, raw=raw, error=error, per_neuroid=per_neuroid, per_split=per_split, extra=extra)
    if np.ndim(ceiling) != 0:
        raise InvalidInputError("the brain-score aggregation needs one aggregated ceiling (a float, correlation "
                                f"units, e.g. internal_consistency(...).value); got shape {np.shape(ceiling)}")
    ceiling = float(ceiling)
    if not (np.isfinite(ceiling) and ceiling > 0):
        warnings.warn(f"the ceiling is {ceiling} (not positive); the normalised score is NaN", RuntimeWarning,
                      stacklevel=3)
        unclamped = math.nan
    else:
        unclamped = (raw / ceiling) ** 2
    extra["unclamped"] = unclamped
    return Score(value=float(np.clip(unclamped, 0.0, 1.0)), raw=raw, ceiling=ceiling, error=error,
                 per_neuroid=per_neuroid, per_split=per_split, extra=extra)


def encoding_score(
    source: xr.DataArray,
    target: xr.DataArray,
    estimator: Any,
    metric: str,
    *,
    splits: Splits | None = None,
    n_splits: int = 5,
    seed: int = 0,
    ceiling: np.ndarray | float | None = None,
    summarize: Callable[[Any], Any] | None = None,
    aggregation: str = "neuroid-median",
    groups: np.ndarray | None = None,
) -> Score:
    """The encoding entry point: held-out correlations of ``estimator`` (cloned per split) summarised as a `Score`.

    ``source`` are `Features` (stimulus × unit), ``target`` `Responses` (stimulus × neuroid, repetitions
    averaged with NaN-aware means when present), aligned by ``stimulus_id``; seeded ``n_splits``-fold CV
    unless ``splits`` are given. With ``summarize``, ``extra["fitted"]`` lists its result per split.
    ``aggregation`` names the summary (:data:`AGGREGATIONS`, see :func:`score_correlations`). ``groups`` (one
    label per stimulus row) are the units a bootstrap resamples (default: rows); see :func:`recording_held_out`.

    >>> from brainalign.data.synthetic import simulated_brain
    >>> from brainalign.mapping.linear import LinearRegression
    >>> brain = simulated_brain(n_stimuli=60, n_features=5, n_neuroids=3, snr=4.0)
    >>> bool(encoding_score(brain.features, brain.responses, LinearRegression(), "ols").raw > 0.8)
    True
    """
    X, Y, responses = _encoding_arrays(source, target)
    splits = resolve_splits(len(Y), splits, n_splits, seed)
    result = cross_validated_predictions(estimator, X, Y, splits, summarize=summarize)
    score = score_correlations(result.correlations(), ceiling, responses, aggregation)
    records = _RECORDS.get()
    if records is not None:
        aggregate = (brain_score_aggregate(ceiling) if aggregation == "brain-score"  # type: ignore[arg-type]
                     else median_of_split_means(None if ceiling is None else np.asarray(ceiling, dtype=float)))
        records.append(HeldOut(result, aggregate,
                               None if groups is None else [np.asarray(groups)[test] for _, test in result.splits]))
    if summarize is not None:
        score.extra["fitted"] = result.fitted
    config = get_config()
    score.provenance.update(metric=metric, seed=seed, n_splits=len(splits), backend=config["backend"],
                            dtype=config["dtype"])
    if aggregation != "neuroid-median":
        score.provenance["aggregation"] = aggregation
    return score


@register_metric("ridge")
def ridge_encoding(
    source: xr.DataArray,
    target: xr.DataArray,
    *,
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    inner_cv: CV = DEFAULT_CV,
    splits: Splits | None = None,
    n_splits: int = 5,
    seed: int = 0,
    ceiling: np.ndarray | None = None,
) -> Score:
    """Ridge encoding score: per-target alpha chosen by ``inner_cv`` (folds, ``"loo"`` or splits) inside each
    training set, held-out Pearson r over ``n_splits`` seeded folds (or the given ``splits``), summarised by
    :func:`score_correlations`; ``extra`` reports the chosen alphas.
    """
    score = encoding_score(source, target, RidgeCV(alphas=alphas, cv=inner_cv, seed=seed), "ridge", splits=splits,
                           n_splits=n_splits, seed=seed, ceiling=ceiling,
                           summarize=lambda model: to_numpy(model.best_alphas_))
    chosen_per_split = score.extra.pop("fitted")
    chosen = np.concatenate(chosen_per_split)
    grid = np.sort(np.asarray(alphas, dtype=float))
    edge = np.isclose(chosen, grid[0], rtol=1e-5) | np.isclose(chosen, grid[-1], rtol=1e-5)
    score.extra.update(alpha_median=float(np.median(chosen)), alpha_at_grid_edge=float(edge.mean()),
                       best_alphas=np.stack(chosen_per_split))
    score.provenance["inner_folds"] = inner_cv if isinstance(inner_cv, (int, str)) else "splits"
    return score


def _nanmean_rows(values: np.ndarray) -> np.ndarray:
    """Mean over the first axis ignoring NaN, NaN (without a warning) where every entry is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=0)


def _nanmedian_rows(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=1)


def _nanmedian(values: np.ndarray) -> float:
    finite = np.asarray(values)[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else math.nan
