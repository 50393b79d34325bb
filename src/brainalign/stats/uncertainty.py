"""A CI and p-value on every score: encoding scores from their held-out predictions (no refit), CKA from its
Gram matrices, and a `Score` carrying both; the SEM over CV splits stays labelled as what it is.

* :func:`encoding_with_uncertainty` — the engine's score plus a stimulus (or subject) bootstrap CI and a
  permutation p-value (:mod:`brainalign.metrics.encoding.bootstrap`).
* :func:`bootstrap_cka` — linear CKA of stimulus resamples as weighted sums over the original Grams (all samples
  in a few matrix products) and a permutation p-value (stimuli of one Gram relabelled).
* :func:`with_uncertainty` — a `Score` with ``ci_low``, ``ci_high``, ``p_value`` in ``extra`` and
  ``extra["error_kind"]`` saying what ``error`` is.
* :func:`score_with_uncertainty` — a registered metric's `Score` with its CI and p-value, through the
  per-metric functions of the ``UNCERTAINTY`` registry, one for every built-in metric:

  - ``ridge``, ``ols``, ``pls`` and every metric built on ``encoding_score`` (``crossregressed-correlation``,
    ``neuron-to-neuron``, ``reverse-ridge``, ``bidirectional-ridge``, ``spantime-ridge``, ``spantime-pls``,
    ``stacked``): held-out predictions resampled (no refit; the time bins of a stimulus drawn together), p-value
    by permuting targets against predictions;
  - ``versa``: per split, the test stimuli of the predicted and measured RDMs resampled (``bootstrap_rsa``) and
    relabelled (``permutation_test_rsa``), averaged over splits like the score;
  - ``one-to-one``, ``semi-matching``, ``soft-matching``: test stimuli resampled with the training assignment
    fixed, p-value by permuting test responses against test features;
  - ``cka`` (:func:`bootstrap_cka`) and ``rsa`` (:func:`brainalign.stats.bootstrap.bootstrap_rsa`,
    :func:`brainalign.stats.permutation.permutation_test_rsa`).

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
    bootstrap_held_out,
    bootstrap_subjects,
    percentile_bounds,
    resampled_correlations,
    stimulus_counts,
)
from brainalign.metrics.encoding.engine import (
    cross_validated_predictions,
    encoding_matrices,
    recording_held_out,
    resolve_splits,
    score_correlations,
)
from brainalign.metrics.encoding.versa import versa_splits
from brainalign.metrics.registry import get_metric
from brainalign.metrics.similarity.cka import _double_centre, cka_metric, gram, standardized_columns
from brainalign.metrics.similarity.matching import MATCHINGS, matching_splits, unit_norm_columns
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.metrics.similarity.rsa import rsa
from brainalign.stats.bootstrap import bootstrap_rsa
from brainalign.stats.permutation import permutation_test_rsa


def with_uncertainty(score: Score, uncertainty: Uncertainty, of: str = "value") -> Score:
    """``score`` with the CI and p-value of ``uncertainty`` in ``extra`` (``extra["ci_of"]``: the field the CI is
    about; ``error`` keeps its meaning, which the metric named in ``extra["error_kind"]``: a SEM is never a CI).

    >>> s = with_uncertainty(Score(0.5, error=0.02, extra={"error_kind": "SEM over splits"}),
    ...                      Uncertainty(0.5, np.zeros(3), 0.41, 0.58, 0.95, 0.001, "permutation", "stimuli"))
    >>> s.extra["ci_low"], s.extra["error_kind"]
    (0.41, 'SEM over splits')
    """
    extra = {**score.extra, **uncertainty.as_extra(), "ci_of": of}
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


def _recorded(metric: str) -> Any:
    """The uncertainty function of a metric built on ``encoding_score``: run it once, recording its held-out
    predictions, and resample those (``bootstrap_held_out``); the metric keeps its own seed and splits."""

    def with_ci(source: Any, target: Any, *, n_samples: int, ci: float, n_permutations: int, seed: int,
                **options: Any) -> Score:
        with recording_held_out() as records:
            score = get_metric(metric)(source, target, **options)
        if not records:
            raise InvalidInputError(f"metric {metric!r} recorded no held-out predictions to resample")
        uncertainty = bootstrap_held_out([(r.predictions, r.aggregate, r.groups) for r in records],
                                         n_samples=n_samples, ci=ci, n_permutations=n_permutations, seed=seed)
        return with_uncertainty(score, uncertainty)

    return with_ci


for _metric in ("crossregressed-correlation", "neuron-to-neuron", "reverse-ridge", "bidirectional-ridge",
                "spantime-ridge", "spantime-pls", "stacked"):
    UNCERTAINTY.register(_metric, _recorded(_metric))


@UNCERTAINTY.register("versa")
def _versa(source: Any, target: Any, *, n_samples: int, ci: float, n_permutations: int, seed: int,
           **options: Any) -> Score:
    """veRSA `Score` plus, per split, a bootstrap and a permutation test of its RDM comparison over the test
    stimuli (the fitted encoders fixed), averaged over splits as the score is."""
    score, rdms = versa_splits(source, target, **options)
    if not rdms:
        raise InvalidInputError(f"the veRSA score is undefined ({score.extra.get('reason', 'NaN')}); no CI")
    method = options.get("method", "spearman")
    samples, null = np.zeros(n_samples), np.zeros(n_permutations)
    for k, (predicted, measured) in enumerate(rdms):
        samples += bootstrap_rsa(predicted, measured, method, n_samples=n_samples, ci=ci, noise_ceiling=False,
                                 seed=seed + k).samples[:, 0] / len(rdms)
        null += permutation_test_rsa(predicted, measured, method, n_permutations=n_permutations,
                                     seed=seed + len(rdms) + k).null / len(rdms)
    low, high = percentile_bounds(samples, ci, "veRSA score")
    p_value = float((1 + np.sum(null >= score.value)) / (1 + n_permutations))
    uncertainty = Uncertainty(score.value, samples, low, high, ci, p_value,
                              "permutation of test stimuli in each split", "test stimuli in each split")
    return with_uncertainty(score, uncertainty)


def assigned_correlations(weights: np.ndarray, x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``Σ_u weights[u, j] · r(x_u, y_j)`` per neuroid j for each stimulus resample ``counts`` ``(samples, rows)``
    (r of a unit constant in a sample counts 0, as in ``correlation_matrix``), ``(samples, neuroids)``.

    >>> x = np.arange(6.0)[:, None]; y = np.stack([x[:, 0], -x[:, 0]], 1)
    >>> assigned_correlations(np.ones((1, 2)), x, y, np.ones((1, 6))).round(6).tolist()
    [[1.0, -1.0]]
    """
    used = np.flatnonzero(np.abs(weights).max(1) > 0)
    n_neuroids = y.shape[1]
    out = np.zeros((counts.shape[0], n_neuroids))
    block = rows_per_block(48 * counts.shape[0] * n_neuroids, used.size)  # ~6 float64 arrays per pair
    for start in range(0, used.size, block):
        units = used[start:start + block]
        pairs = (np.repeat(x[:, units], n_neuroids, axis=1), np.tile(y, units.size))
        r = resampled_correlations([pairs], [counts])[:, 0].reshape(-1, units.size, n_neuroids)
        out += np.einsum("bun,un->bn", np.nan_to_num(r), weights[units])
    return out


def _matching(metric: str) -> Any:
    def with_ci(source: Any, target: Any, *, n_samples: int, ci: float, n_permutations: int, seed: int,
                **options: Any) -> Score:
        """Matching `Score` plus a bootstrap of each split's test stimuli (the training assignment fixed) and a
        permutation p-value (test responses relabelled against test features)."""
        score, held_out = matching_splits(source, target, metric, **options)
        if not held_out:
            raise InvalidInputError(f"the {metric} score is undefined ({score.extra.get('reason', 'NaN')}); no CI")
        counts = stimulus_counts([len(x) for _, x, _ in held_out], n_samples, seed)
        rng = np.random.default_rng(seed + 1)
        samples, null = np.zeros(n_samples), np.zeros(n_permutations)
        for (weights, x, y), c in zip(held_out, counts, strict=True):
            samples += assigned_correlations(weights, x, y, c).mean(1) / len(held_out)
            assigned = np.asarray(unit_norm_columns(x)) @ weights  # Σ_u w_uj x̃_iu, so r sums become one product
            order = np.argsort(rng.random((n_permutations, len(y))), axis=1)
            null += np.einsum("bij,ij->bj", np.asarray(unit_norm_columns(y))[order], assigned).mean(1) / len(held_out)
        low, high = percentile_bounds(samples, ci, f"{metric} score")
        p_value = float((1 + np.sum(null >= score.value)) / (1 + n_permutations))
        return with_uncertainty(score, Uncertainty(score.value, samples, low, high, ci, p_value,
                                                   "permutation of test responses vs features", "test stimuli"))

    return with_ci


for _metric in MATCHINGS:
    UNCERTAINTY.register(_metric, _matching(_metric))
