"""Encoding metrics: predict each neuroid from model features on held-out stimuli, score by Pearson r.

:func:`cross_validated_encoding` is the generic loop (align by stimulus id, average repetitions,
fit on train, predict test, correlate per neuroid) for any regression with ``fit`` / ``predict``;
:func:`score_correlations` turns its per-split × per-neuroid correlations into a `Score`, with an
optional per-neuroid reliability ceiling; ``ridge`` (:func:`ridge_encoding`) is the registered metric.

Score convention: ``r_i`` is neuroid i's correlation averaged over splits; ``raw = median_i r_i``.
With a ceiling ``c_i`` (reliability, variance units), neuroids with ``c_i <= 0`` or NaN are dropped,
``n_i = r_i |r_i| / c_i`` (explained variance over explainable variance), ``value = median_i n_i``
and ``ceiling = median_i c_i``. ``error`` is the SEM over splits of each split's value.

>>> from brainalign.data.synthetic import simulated_brain
>>> brain = simulated_brain(n_stimuli=200, n_features=5, n_neuroids=4, snr=4.0)
>>> score = ridge_encoding(brain.features, brain.responses, ceiling=brain.reliability)
>>> bool(0.9 < score.value < 1.1), score.per_split.shape
(True, (5,))
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from array_api_compat import device as _device_of
import numpy as np
import xarray as xr

from brainalign.core.backend import BackendName, asarray, namespace, to_numpy
from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, align, check_finite
from brainalign.core.score import Score
from brainalign.mapping.correlation import pearson_r
from brainalign.mapping.cv import Splits, check_splits, kfold_splits
from brainalign.metrics.registry import register_metric
from brainalign.mapping.ridge import DEFAULT_ALPHAS, RidgeCV


@dataclass
class EncodingResult:
    """Held-out Pearson r per split × neuroid, and what ``summarize`` reported about each fitted regression."""

    correlations: np.ndarray
    fit_summaries: list[Any] = field(default_factory=list)


def cross_validated_encoding(
    source: xr.DataArray,
    target: xr.DataArray,
    regression_factory: Callable[[], Any],
    splits: Splits,
    *,
    backend: BackendName = "numpy",
    device: str | None = None,
    dtype: str = "float32",
    summarize: Callable[[Any], Any] | None = None,
) -> EncodingResult:
    """Fit a fresh ``regression_factory()`` on each split's training stimuli and correlate its test predictions.

    ``source`` are `Features` (stimulus × unit), ``target`` `Responses` (stimulus × neuroid, repetitions
    averaged with NaN-aware means when present); both are aligned by ``stimulus_id``.

    >>> import numpy as np
    >>> from brainalign.core.labels import make_features, make_responses
    >>> ids = [f"s{i}" for i in range(30)]
    >>> x = np.random.default_rng(0).normal(size=(30, 3))
    >>> result = cross_validated_encoding(make_features(x, ids), make_responses(x[:, :2], ids),
    ...                                   lambda: RidgeCV(alphas=[1e-3]), kfold_splits(30, 3))
    >>> result.correlations.shape, bool((result.correlations > 0.99).all())
    ((3, 2), True)
    """
    X, Y = encoding_matrices(source, target)
    splits = check_splits(splits, X.shape[0])
    X, Y = asarray(X, backend, device, dtype), asarray(Y, backend, device, dtype)
    xp = namespace(X)
    correlations, summaries = [], []
    for train, test in splits:
        train, test = xp.asarray(train, device=_device_of(X)), xp.asarray(test, device=_device_of(X))
        model = regression_factory()
        with config_context(backend=backend, device=device, dtype=dtype):  # the mapping estimators' settings
            model.fit(xp.take(X, train, axis=0), xp.take(Y, train, axis=0))
        predictions = asarray(model.predict(xp.take(X, test, axis=0)), backend, device, dtype)
        correlations.append(to_numpy(pearson_r(predictions, xp.take(Y, test, axis=0))))
        if summarize is not None:
            summaries.append(summarize(model))
    return EncodingResult(np.stack(correlations).astype(float), summaries)


def encoding_matrices(source: xr.DataArray, target: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Aligned, finite ``(stimulus × unit)`` and ``(stimulus × neuroid)`` matrices of a features/responses pair.

    >>> import numpy as np
    >>> from brainalign.core.labels import make_features, make_responses
    >>> reps = make_responses(np.array([[[1.0, np.nan]], [[2.0, 4.0]]]), ["a", "b"],
    ...                       dims=("stimulus", "neuroid", "repetition"))
    >>> encoding_matrices(make_features(np.eye(2), ["b", "a"]), reps)[1].tolist()
    [[1.0], [3.0]]
    """
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
    return X, Y


def score_correlations(correlations: np.ndarray, ceiling: np.ndarray | None = None) -> Score:
    """`Score` from held-out correlations (splits × neuroids), ceiling-normalised when ``ceiling`` is given.

    >>> import numpy as np
    >>> s = score_correlations(np.array([[0.5, 0.6], [0.7, 0.6]]), ceiling=np.array([0.36, 0.0]))
    >>> round(s.value, 3), round(s.raw, 3), s.ceiling, s.extra["n_dropped_ceiling"]
    (1.0, 0.6, 0.36, 1)
    """
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
    return Score(value=_nanmedian(per_neuroid), raw=_nanmedian(r), ceiling=ceiling_value, error=error,
                 per_neuroid=per_neuroid, per_split=per_split, extra=extra)


@register_metric("ridge")
def ridge_encoding(
    source: xr.DataArray,
    target: xr.DataArray,
    *,
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    n_splits: int = 5,
    splits: Splits | None = None,
    inner_folds: int = 5,
    ceiling: np.ndarray | None = None,
    seed: int = 0,
    backend: BackendName = "numpy",
    device: str | None = None,
    dtype: str = "float32",
) -> Score:
    """Ridge encoding score: per-target alpha chosen by ``inner_folds``-fold CV inside each training set,
    held-out Pearson r over ``n_splits`` seeded folds (or the given ``splits``), summarised by
    :func:`score_correlations`.
    """
    n_stimuli = target.sizes[STIMULUS]
    splits = kfold_splits(n_stimuli, n_splits, shuffle=True, seed=seed) if splits is None else splits
    result = cross_validated_encoding(
        source, target,
        lambda: RidgeCV(alphas, cv=inner_folds, seed=seed),
        splits, backend=backend, device=device, dtype=dtype,
        summarize=lambda model: to_numpy(model.best_alphas_),
    )
    score = score_correlations(result.correlations, ceiling)
    chosen = np.concatenate(result.fit_summaries)
    grid = np.sort(np.asarray(alphas, dtype=float))
    edge = np.isclose(chosen, grid[0], rtol=1e-5) | np.isclose(chosen, grid[-1], rtol=1e-5)
    score.extra.update(alpha_median=float(np.median(chosen)), alpha_at_grid_edge=float(edge.mean()),
                       best_alphas=np.stack(result.fit_summaries))
    score.provenance.update(metric="ridge", seed=seed, n_splits=len(splits), inner_folds=inner_folds,
                            backend=backend, dtype=dtype)
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
