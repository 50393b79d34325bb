"""A CI and p-value on every score: encoding scores from their held-out predictions (no refit), CKA from its
Gram matrices, and a `Score` carrying both; the SEM over CV splits stays labelled as what it is.

* :func:`encoding_with_uncertainty` — the engine's score plus a stimulus (or subject) bootstrap CI and a
  permutation p-value (:mod:`brainalign.metrics.encoding.bootstrap`).
* :func:`bootstrap_cka` — linear CKA of stimulus resamples as weighted sums over the original Grams (all samples
  in a few matrix products) and a permutation p-value (stimuli of one Gram relabelled).
* :func:`with_uncertainty` — a `Score` with ``ci_low``, ``ci_high``, ``p_value`` in ``extra`` and
  ``extra["error_kind"]`` saying what ``error`` is.
* :func:`score_with_uncertainty` — a registered metric's `Score` with its CI and p-value, through the
  per-metric functions of the ``UNCERTAINTY`` registry (``ridge``, ``ols``, ``pls``, ``cka``, ``rsa``; RSA uses
  :func:`brainalign.stats.bootstrap.bootstrap_rsa` and :func:`brainalign.stats.permutation.permutation_test_rsa`).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(40, 5))
>>> result = bootstrap_cka(x @ x.T, (x + rng.normal(size=(40, 5))) @ (x + rng.normal(size=(40, 5))).T,
...                        n_samples=200, n_permutations=99)
>>> bool(result.ci_low < result.value < result.ci_high), result.p_value
(True, 0.01)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.backend import to_numpy
from brainalign.core.config import rows_per_block
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import align, average_repetitions
from brainalign.core.registry import Registry
from brainalign.core.score import Score
from brainalign.data.rdm import RDM
from brainalign.mapping.cv import Splits
from brainalign.mapping.linear import LinearRegression
from brainalign.mapping.pls import BRAIN_SCORE_COMPONENTS, PLSRegression
from brainalign.mapping.ridge import DEFAULT_ALPHAS, DEFAULT_CV, RidgeCV
from brainalign.metrics.encoding.bootstrap import (
    Uncertainty,
    bootstrap_encoding,
    bootstrap_subjects,
    percentile_bounds,
    stimulus_counts,
)
from brainalign.metrics.encoding.engine import (
    cross_validated_predictions,
    encoding_matrices,
    resolve_splits,
    score_correlations,
)
from brainalign.metrics.similarity.cka import _double_centre, cka_metric, gram, standardized_columns
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.metrics.similarity.rsa import rsa
from brainalign.stats.bootstrap import bootstrap_rsa
from brainalign.stats.permutation import permutation_test_rsa

SPLIT_ERROR = "SEM over splits"


def with_uncertainty(score: Score, uncertainty: Uncertainty, of: str = "value") -> Score:
    """``score`` with the CI and p-value of ``uncertainty`` in ``extra`` (``extra["ci_of"]``: the field the CI is
    about; ``error`` keeps its meaning, named in ``extra["error_kind"]``: the SEM over splits is never a CI).

    >>> s = with_uncertainty(Score(0.5, error=0.02, per_split=np.array([0.4, 0.6])),
    ...                      Uncertainty(0.5, np.zeros(3), 0.41, 0.58, 0.95, 0.001, "permutation", "stimuli"))
    >>> s.extra["ci_low"], s.extra["error_kind"]
    (0.41, 'SEM over splits')
    """
    extra = {**score.extra, **uncertainty.as_extra(), "ci_of": of}
    if score.per_split is not None and not math.isnan(score.error):
        extra.setdefault("error_kind", SPLIT_ERROR)
    return Score(score.value, score.raw, score.ceiling, score.error, score.per_neuroid, score.per_split, extra,
                 dict(score.provenance))


def encoding_with_uncertainty(source: xr.DataArray, target: xr.DataArray, estimator: Any, *,
                              splits: Splits | None = None, n_splits: int = 5, seed: int = 0,
                              ceiling: np.ndarray | None = None, n_samples: int = 1000, ci: float = 0.95,
                              resample: str = "stimuli", n_permutations: int = 1000) -> Score:
    """The engine's encoding `Score` of ``estimator`` plus a bootstrap CI of its ``value`` over the held-out
    stimuli (``resample="stimuli"``, with a permutation p-value) or over subjects (``"subjects"``: the responses'
    ``subject`` neuroid coordinate), without refitting.

    >>> from brainalign.data.synthetic import simulated_brain
    >>> from brainalign.mapping.linear import LinearRegression
    >>> brain = simulated_brain(n_stimuli=80, n_features=4, n_neuroids=3, snr=2.0)
    >>> score = encoding_with_uncertainty(brain.features, brain.responses, LinearRegression(), n_samples=200)
    >>> bool(score.extra["ci_low"] < score.value < score.extra["ci_high"]), score.extra["p_value"] < 0.01
    (True, True)
    """
    X, Y = encoding_matrices(source, target)
    splits = resolve_splits(len(Y), splits, n_splits, seed)
    cv = cross_validated_predictions(estimator, X, Y, splits)
    score = score_correlations(cv.correlations(), ceiling)
    if resample == "stimuli":
        uncertainty = bootstrap_encoding(cv, n_samples=n_samples, ci=ci, ceiling=ceiling,
                                         n_permutations=n_permutations, seed=seed)
    elif resample == "subjects":
        if "subject" not in target.coords or target.coords["subject"].dims != ("neuroid",):
            raise InvalidInputError("resample='subjects' needs a 'subject' coordinate on the responses' neuroids")
        uncertainty = bootstrap_subjects(cv, target.coords["subject"].values, n_samples=n_samples, ci=ci,
                                         ceiling=ceiling, seed=seed)
    else:
        raise InvalidInputError(f"resample must be 'stimuli' or 'subjects'; got {resample!r}")
    score.provenance.update(n_splits=len(splits), seed=seed)
    return with_uncertainty(score, uncertainty)


def _weighted_hsic(counts: np.ndarray, k: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``tr(K* H M* H)`` of Grams ``k``, ``m`` (biased HSIC × (n-1)², a factor that cancels in CKA) of each
    stimulus resample ``counts`` ``(B, n)``: ``cᵀ(K∘M)c - 2/n Σ c_i (Kc)_i (Mc)_i + (cᵀKc)(cᵀMc) / n²``."""
    n = counts.sum(1)
    ck, cm = counts @ k, counts @ m
    return (np.einsum("bi,bi->b", counts @ (k * m), counts) - 2 / n * np.einsum("bi,bi,bi->b", counts, ck, cm)
            + np.einsum("bi,bi->b", ck, counts) * np.einsum("bi,bi->b", cm, counts) / n**2)


def _weighted_cka(counts: np.ndarray, k: np.ndarray, m: np.ndarray) -> np.ndarray:
    return _weighted_hsic(counts, k, m) / np.sqrt(_weighted_hsic(counts, k, k) * _weighted_hsic(counts, m, m))


def bootstrap_cka(source_gram: Any, target_gram: Any, *, n_samples: int = 1000, ci: float = 0.95,
                  n_permutations: int = 1000, seed: int | None = 0) -> Uncertainty:
    """Stimulus-bootstrap percentile CI of the (biased) CKA of two n × n Gram matrices (e.g. ``gram(x)``; a drawn
    stimulus repeats its rows and columns, the kernel itself is kept) and the permutation p-value of "CKA >
    chance" (stimuli of ``target_gram`` relabelled). See the module example."""
    k = np.asarray(to_numpy(source_gram), dtype=float)
    m = np.asarray(to_numpy(target_gram), dtype=float)
    n = k.shape[0]
    if k.shape != (n, n) or m.shape != (n, n):
        raise InvalidInputError(f"CKA needs two square Grams of the same size; got {k.shape} and {m.shape}")
    counts = stimulus_counts([n], n_samples, seed)[0]
    ones = np.ones((1, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        value = float(_weighted_cka(ones, k, m)[0])
        samples = _weighted_cka(counts, k, m)
    samples = np.where(np.isfinite(samples), samples, np.nan)
    low, high = percentile_bounds(samples, ci, "CKA")
    centred = _double_centre(k)
    scale = math.sqrt(float(np.sum(centred * k)) * float(np.sum(_double_centre(m) * m)))
    rng = np.random.default_rng(None if seed is None else seed + 1)
    null = []
    batch = rows_per_block(16 * n * n, n_permutations)
    for start in range(0, n_permutations, batch):
        order = np.argsort(rng.random((min(batch, n_permutations - start), n)), axis=1)
        null.append(np.einsum("bij,ij->b", m[order[:, :, None], order[:, None, :]], centred, optimize=True) / scale)
    null = np.concatenate(null)
    p_value = float((1 + np.sum(null >= value)) / (1 + n_permutations)) if math.isfinite(value) else math.nan
    return Uncertainty(value, samples, low, high, ci, p_value, "permutation of stimuli", "stimuli")


UNCERTAINTY: Registry = Registry("metric with uncertainty", "brainalign.uncertainty")


def score_with_uncertainty(metric: str, source: Any, target: Any, *, n_samples: int = 1000, ci: float = 0.95,
                           n_permutations: int = 1000, seed: int = 0, **options: Any) -> Score:
    """The `Score` of the registered ``metric`` (same ``options``) with a bootstrap CI and a p-value in ``extra``
    (``ci_low``, ``ci_high``, ``p_value``, ``ci_of``, ...); other packages add metrics to ``UNCERTAINTY``.

    >>> from brainalign.data.synthetic import simulated_brain
    >>> brain = simulated_brain(n_stimuli=60, n_features=4, n_neuroids=3, snr=2.0)
    >>> score = score_with_uncertainty("cka", brain.features, brain.responses, n_samples=200, n_permutations=99)
    >>> bool(score.extra["ci_low"] < score.value < score.extra["ci_high"]), score.extra["p_value"]
    (True, 0.01)
    """
    return UNCERTAINTY.get(metric)(source, target, n_samples=n_samples, ci=ci, n_permutations=n_permutations,
                                   seed=seed, **options)


def _encoding(metric: str, make_estimator: Any) -> Any:
    def with_ci(source: Any, target: Any, *, n_samples: int, ci: float, n_permutations: int, seed: int,
                splits: Splits | None = None, n_splits: int = 5, ceiling: np.ndarray | None = None,
                resample: str = "stimuli", **options: Any) -> Score:
        score = encoding_with_uncertainty(source, target, make_estimator(seed=seed, **options), splits=splits,
                                          n_splits=n_splits, seed=seed, ceiling=ceiling, n_samples=n_samples, ci=ci,
                                          resample=resample, n_permutations=n_permutations)
        score.provenance.update(metric=metric, **{k: v for k, v in options.items() if np.isscalar(v)})
        return score

    return with_ci


def _ridge(seed: int, alphas: Any = DEFAULT_ALPHAS, inner_cv: Any = DEFAULT_CV) -> RidgeCV:
    return RidgeCV(alphas=alphas, cv=inner_cv, seed=seed)


UNCERTAINTY.register("ridge", _encoding("ridge", _ridge))
UNCERTAINTY.register("ols", _encoding("ols", lambda seed: LinearRegression()))
UNCERTAINTY.register("pls", _encoding("pls", lambda seed, n_components=BRAIN_SCORE_COMPONENTS:
                                      PLSRegression(n_components=n_components)))


@UNCERTAINTY.register("cka")
def _cka(source: Any, target: Any, *, n_samples: int, ci: float, n_permutations: int, seed: int,
         kernel: str = "linear", unbiased: bool = False, bandwidth_factor: float = 1.0,
         standardize: bool = False) -> Score:
    """CKA `Score` plus :func:`bootstrap_cka` on its Gram matrices (biased CKA only)."""
    if unbiased:
        raise InvalidInputError("the CKA bootstrap resamples the biased estimator; use unbiased=False")
    score = cka_metric(source, target, kernel=kernel, bandwidth_factor=bandwidth_factor, standardize=standardize)
    source, target = align(average_repetitions(source), average_repetitions(target))
    x, y = np.asarray(source.values, dtype=float), np.asarray(target.values, dtype=float).reshape(len(target), -1)
    if standardize:
        x, y = standardized_columns(x), standardized_columns(y)
    uncertainty = bootstrap_cka(gram(x, kernel, bandwidth_factor), gram(y, kernel, bandwidth_factor),
                                n_samples=n_samples, ci=ci, n_permutations=n_permutations, seed=seed)
    return with_uncertainty(score, uncertainty)


@UNCERTAINTY.register("rsa")
def _rsa(source: Any, target: Any, *, n_samples: int, ci: float, n_permutations: int, seed: int,
         distance: str = "correlation", comparison: str = "spearman", convention: str = "rsatoolbox") -> Score:
    """RSA `Score` plus a stimulus bootstrap (``bootstrap_rsa``) and a permutation test of its ``raw`` value
    (mean similarity over subjects)."""
    score = rsa(source, target, distance=distance, comparison=comparison, convention=convention)
    model = source if isinstance(source, RDM) else compute_rdm(source, distance=distance)
    boot = bootstrap_rsa(model, target, comparison, n_samples=n_samples, ci=ci, noise_ceiling=False, seed=seed)
    test = permutation_test_rsa(model, target, comparison, n_permutations=n_permutations, seed=seed + 1)
    samples = boot.samples[:, 0]
    low, high = percentile_bounds(samples, ci, "RSA score")
    uncertainty = Uncertainty(test.statistic, samples, low, high, ci, test.p_value, "permutation of stimuli",
                              "stimuli")
    return with_uncertainty(score, uncertainty, of="raw")
