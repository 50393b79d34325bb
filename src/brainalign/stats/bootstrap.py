"""Bootstrap confidence intervals, batched: every resample is an index array, never a Python loop over samples.

``bootstrap_rsa`` resamples stimuli (as rsatoolbox's ``eval_bootstrap_pattern``: stimuli drawn with replacement,
the pairs of a stimulus with its own copy excluded), subjects, or both. A stimulus sample is never built: drawing
stimulus k m_k times makes pair (i, j) occur m_i·m_j times, so each sample is a weighting of the original pairs,
and ranks of a weighted RDM need no new sort (cumulative weights in the RDM's one sorted order). For rank
methods on numpy a compiled kernel (``stats.rank_bootstrap``) does this per sample in integers; otherwise all
models, subjects and samples of a batch are one batched array computation (torch / GPU).

>>> import numpy as np
>>> low, high = percentile_ci(np.arange(101.0), ci=0.9)
>>> round(float(low), 6), round(float(high), 6)
(5.0, 95.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from brainalign.core.backend import asarray, namespace, to_numpy
from brainalign.core.config import compute_settings, rows_per_block
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.rdm import RDM
from brainalign.metrics.ceilings.noise_ceiling import noise_ceiling_vectors
from brainalign.metrics.similarity._ranks import FixedOrder, scatter_last, sort_rows, tie_bounds, twice_weighted_ranks
from brainalign.metrics.similarity.rdm_comparison import MASKABLE_METHODS, RANK_METHODS, compare_vectors, matched
from brainalign.stats._rank_bootstrap import ranked_bootstrap

RESAMPLE = ("stimuli", "subjects", "both")
_RANKED_BATCH_ELEMENTS = 1 << 19


@dataclass
class BootstrapResult:
    """Bootstrap distribution of model evaluations: ``samples`` ``(n_samples, n_models)`` (NaN where a sample
    had fewer than 3 distinct stimuli), percentile CI bounds per model, and ``noise_ceiling`` samples
    ``(n_samples, 2)`` (lower, upper) when requested."""

    samples: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    noise_ceiling: np.ndarray | None = None


def percentile_ci(samples: np.ndarray, ci: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval holding ``ci`` of the (NaN-ignoring) bootstrap ``samples`` along ``axis``."""
    if not 0 < ci < 1:
        raise InvalidInputError(f"ci must lie in (0, 1); got {ci}")
    tail = 100 * (1 - ci) / 2
    return np.nanpercentile(samples, tail, axis=axis), np.nanpercentile(samples, 100 - tail, axis=axis)


def bootstrap_mean_ci(values: np.ndarray, n_samples: int = 10_000, ci: float = 0.95,
                      seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile CI of the mean over axis 0 (e.g. subjects) of ``values`` ``(n_subjects, ...)``.

    >>> low, high = bootstrap_mean_ci(np.array([0.2, 0.3, 0.25, 0.35, 0.3]))
    >>> bool(0.2 < low < 0.29 < high < 0.35)
    True
    """
    values = np.asarray(values, dtype=float)
    index = np.random.default_rng(seed).integers(0, values.shape[0], (n_samples, values.shape[0]))
    return percentile_ci(values[index].mean(axis=1), ci)


def bootstrap_rsa(models: RDM, data: RDM, method: str = "spearman", *, n_samples: int = 1000,
                  resample: Literal["stimuli", "subjects", "both"] = "stimuli", ci: float = 0.95,
                  noise_ceiling: bool = True, seed: int | None = 0) -> BootstrapResult:
    """Bootstrap the mean over subjects of the similarity of each model RDM in ``models`` with ``data``.

    Sessions of a subject (descriptor ``subject``) are averaged first, as the ``rsa`` metric does, so the
    interval belongs to the RSA score; ``resample="subjects"`` draws subjects. Computed in float64 on the compute
    context's backend and device, in batches that fit its ``working_memory``.

    >>> import numpy as np
    >>> from brainalign.data.rdm import RDM
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(45)
    >>> data = RDM(truth + rng.normal(0, 0.2, (4, 45)), [str(i) for i in range(10)])
    >>> models = RDM(np.stack([truth, rng.random(45)]), data.stimulus_ids)
    >>> result = bootstrap_rsa(models, data, n_samples=200)
    >>> bool(result.ci_low[0] > result.ci_high[1])
    True
    """
    if resample not in RESAMPLE:
        raise UnknownNameError("resampling", resample, RESAMPLE)
    if method not in MASKABLE_METHODS:
        raise UnknownNameError("bootstrap comparison method", method, MASKABLE_METHODS)
    data = matched(models, data.subject_means())
    settings = compute_settings()
    model_vectors = asarray(models.condensed, settings.backend, settings.device, "float64")
    data_vectors = asarray(data.condensed, settings.backend, settings.device, "float64")
    rng = np.random.default_rng(seed)
    n, n_subjects = models.n_stimuli, data.n_rdms
    subject_index = rng.integers(0, n_subjects, (n_samples, n_subjects)) if resample != "stimuli" else None
    stimulus_index = np.sort(rng.integers(0, n, (n_samples, n)), axis=1) if resample != "subjects" else None
    n_pairs = models.condensed.shape[1]
    ranked = method in RANK_METHODS and stimulus_index is not None
    compiled = ranked and isinstance(model_vectors, np.ndarray)  # one call of the compiled kernel does all samples
    fixed = (FixedOrder(model_vectors), FixedOrder(data_vectors)) if ranked and not compiled else None
    entries = (models.n_rdms + n_subjects) * n_pairs  # per sample
    if compiled:
        batch = n_samples
    elif ranked:  # sized to stay in cache
        batch = max(1, _RANKED_BATCH_ELEMENTS // entries)
    else:  # weights, centred and weighted copies: ~16 float64 temporaries per entry
        batch = rows_per_block(128 * entries, n_samples)
    evaluations, ceilings = [], []
    for start in range(0, n_samples, batch):
        stop = min(start + batch, n_samples)
        sims, ceiling = _evaluate_batch(
            model_vectors, data_vectors, method, noise_ceiling, n,
            None if subject_index is None else subject_index[start:stop],
            None if stimulus_index is None else stimulus_index[start:stop], stop - start, fixed)
        evaluations.append(sims)
        ceilings.append(ceiling)
    samples = np.concatenate(evaluations)
    if stimulus_index is not None:  # rsatoolbox drops samples with fewer than 3 distinct stimuli
        distinct = 1 + np.count_nonzero(np.diff(stimulus_index, axis=1), axis=1)
        samples[distinct < 3] = np.nan
    low, high = percentile_ci(samples, ci)
    return BootstrapResult(samples, low, high, np.concatenate(ceilings) if noise_ceiling else None)


def _evaluate_batch(models, data, method, with_ceiling, n, subject_index, stimulus_index, size, fixed=None):
    """Mean similarity ``(size, n_models)`` and noise ceilings ``(size, 2)`` for one batch of resamples.

    ``fixed``: the :class:`FixedOrder` of ``models`` and ``data``, for rank methods under stimulus resampling.
    """
    xp = namespace(models)
    device = getattr(models, "device", None)
    if method in RANK_METHODS and stimulus_index is not None:
        if isinstance(models, np.ndarray):
            sims, ceiling = ranked_bootstrap(models, data, method == "rho-a", with_ceiling, n, stimulus_index,
                                             subject_index)
            return sims, ceiling if with_ceiling else None
        fixed = fixed or (FixedOrder(models), FixedOrder(data))
        return _evaluate_ranked_batch(*fixed, method, with_ceiling, n, subject_index, stimulus_index, models)
    if subject_index is not None:
        data = xp.take(data, xp.asarray(subject_index.reshape(-1), device=device), axis=0)
        data = xp.reshape(data, (size, subject_index.shape[1], data.shape[-1]))  # (size, subjects, P)
    weights = None
    if stimulus_index is not None:  # pair (i, j) occurs m_i * m_j times when stimulus k is drawn m_k times
        counts = np.zeros((size, n))
        np.add.at(counts, (np.arange(size)[:, None], stimulus_index), 1.0)
        rows, cols = np.triu_indices(n, k=1)
        weights = xp.asarray((counts[:, rows] * counts[:, cols])[:, None, :], dtype=models.dtype, device=device)
    sims = xp.mean(compare_vectors(models, data, method, weights=weights), axis=-1)
    ceiling = None
    if with_ceiling:
        lower, upper = noise_ceiling_vectors(data, method, weights=weights)
        ceiling = np.stack([to_numpy(lower), to_numpy(upper)], axis=1)
    return to_numpy(sims), ceiling


def _pair_counts(stimulus_index: np.ndarray, n: int) -> np.ndarray:
    """How often each pair (i < j) occurs in each sample ``(size, n_pairs)``: m_i · m_j for stimulus counts m."""
    size = stimulus_index.shape[0]
    flat = (stimulus_index + n * np.arange(size)[:, None]).reshape(-1)
    counts = np.bincount(flat, minlength=size * n).reshape(size, n)
    rows, cols = np.triu_indices(n, k=1)
    return counts[:, rows] * counts[:, cols]


def _evaluate_ranked_batch(models: FixedOrder, data: FixedOrder, method, with_ceiling, n, subject_index,
                           stimulus_index, like):
    """Rank methods under stimulus resampling in integers: twice the weighted ranks of every RDM come from its one
    sort order (cumulative pair counts), and only the pooled RDMs of the noise ceiling are sorted per sample."""
    xp = namespace(like)
    device = getattr(like, "device", None)
    size = stimulus_index.shape[0]
    weights = xp.asarray(_pair_counts(stimulus_index, n), device=device)
    model_ranks, data_ranks = models.twice_ranks(weights), data.twice_ranks(weights)
    if subject_index is not None:
        flat = xp.asarray((subject_index + data_ranks.shape[1] * np.arange(size)[:, None]).reshape(-1), device=device)
        data_ranks = xp.reshape(xp.take(xp.reshape(data_ranks, (-1, data_ranks.shape[-1])), flat, axis=0),
                                (size, subject_index.shape[1], -1))
    total = xp.sum(weights, axis=-1)
    sims = xp.mean(_ranked_similarity(model_ranks, data_ranks, weights, total, method, like.dtype), axis=-1)
    ceiling = None
    if with_ceiling:  # pool = sum of the subjects' ranks (its ranks are those of the mean), all and leave-one-out
        pool = xp.sum(data_ranks, axis=-2, keepdims=True)
        pools = xp.concat([pool, pool - data_ranks], axis=-2)
        sorted_pools, order = sort_rows(pools)
        sorted_weights = xp.take_along_axis(xp.broadcast_to(weights[:, None, :], pools.shape), order, axis=-1)
        pool_ranks = scatter_last(twice_weighted_ranks(sorted_weights, tie_bounds(sorted_pools)), order)
        upper = _ranked_similarity(data_ranks, pool_ranks[:, :1], weights, total, method, like.dtype, paired=True)
        lower = _ranked_similarity(data_ranks, pool_ranks[:, 1:], weights, total, method, like.dtype, paired=True)
        ceiling = np.stack([to_numpy(xp.mean(lower, axis=-1)), to_numpy(xp.mean(upper, axis=-1))], axis=1)
    return to_numpy(sims), ceiling


def _ranked_similarity(a, b, weights, total, method, dtype, paired=False):
    """Weighted Spearman / rho-a of twice-ranks ``a`` ``(size, k_a, P)`` with ``b`` ``(size, k_b, P)``:
    ``(size, k_a, k_b)``, or ``(size, k)`` row by row when ``paired`` (``b`` broadcast against ``a``).
    Twice-ranks under weights summing to ``total`` have weighted mean ``total + 1``."""
    xp = namespace(a)
    mean = xp.astype(total + 1, dtype)[:, None, None]
    w = xp.astype(weights, dtype)[:, None, :]
    a, b = xp.astype(a, dtype) - mean, xp.astype(b, dtype) - mean
    weighted_a = a * w
    cross = xp.sum(weighted_a * b, axis=-1) if paired else weighted_a @ xp.matrix_transpose(b)
    if method == "rho-a":  # 12 / (W^3 - W) on ranks; twice-ranks carry a factor 4
        total = xp.astype(total, dtype)
        return cross * 3 / (total**3 - total)[:, None] if paired else cross * 3 / (total**3 - total)[:, None, None]
    var_a, var_b = xp.sum(weighted_a * a, axis=-1), xp.sum(b * b * w, axis=-1)
    denominator = xp.sqrt(var_a * var_b) if paired else xp.sqrt(var_a[..., :, None] * var_b[..., None, :])
    return xp.where(denominator > 0, cross / xp.where(denominator > 0, denominator, 1.0), 0.0)
