"""Compiled (numba) stimulus bootstrap of rank comparisons (Spearman, rho-a) for the numpy backend.

A bootstrap sample that draws stimulus k m_k times weights pair (i, j) by m_i·m_j. Twice the weighted average
ranks of an RDM are integers read off its ONE sort order (cumulative weights along it), so the model and
subject RDMs are sorted once for all samples; only the pooled RDMs of the noise ceiling (sums of the subjects'
twice-ranks, non-negative integers) are sorted per sample, by an LSD radix sort. Sums of products of these
integers are exact in float64, so results equal the sort-per-sample evaluation (and rsatoolbox's) to rounding
of the final division.

>>> import numpy as np
>>> from brainalign.data.rdm import RDM
>>> from brainalign.stats.bootstrap import bootstrap_rsa
>>> rng = np.random.default_rng(0)
>>> data = RDM(rng.random((3, 15)), [str(i) for i in range(6)])
>>> bootstrap_rsa(data.select([True, False, False]), data, n_samples=4).samples.shape
(4, 1)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from brainalign.metrics.similarity._ranks import sort_rows

_DIGIT_BITS = 8


def ranked_bootstrap(model_vectors: np.ndarray, data_vectors: np.ndarray, rho_a: bool, with_ceiling: bool,
                     n: int, stimulus_index: np.ndarray, subject_index: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Mean (over subjects) Spearman or rho-a of each model per sample ``(size, n_models)`` and the noise ceiling
    ``(size, 2)`` (lower, upper; NaN without ``with_ceiling``) for stimulus samples ``stimulus_index``
    ``(size, n)`` and optional subject samples ``(size, n_subjects)``."""
    size = stimulus_index.shape[0]
    counts = np.bincount((stimulus_index + n * np.arange(size)[:, None]).reshape(-1), minlength=size * n)
    if subject_index is None:
        subject_index = np.broadcast_to(np.arange(data_vectors.shape[0]), (size, data_vectors.shape[0]))
    rows, cols = np.triu_indices(n, k=1)
    return _bootstrap_kernel(*sort_rows(model_vectors), *sort_rows(data_vectors),
                             counts.reshape(size, n).astype(np.int64),
                             np.ascontiguousarray(subject_index, np.int64), rows.astype(np.int64),
                             cols.astype(np.int64), rho_a, with_ceiling)


@njit(cache=True, nogil=True)
def _twice_ranks_into(out, sorted_values, order, weights):
    """``out[order[k]]`` = twice the weighted average rank of that entry; equal sorted values share theirs."""
    total = 0
    k = 0
    length = order.shape[0]
    while k < length:
        start, before, value = k, total, sorted_values[k]
        while k < length and sorted_values[k] == value:
            total += weights[order[k]]
            k += 1
        for t in range(start, k):
            out[order[t]] = before + total + 1


@njit(cache=True, nogil=True)
def _radix_order(keys, order, buffer):
    """Sort order of non-negative integer ``keys`` (LSD radix, ``_DIGIT_BITS`` per pass), written to ``order``."""
    length = keys.shape[0]
    for e in range(length):
        order[e] = e
    largest = keys.max()
    buckets = 1 << _DIGIT_BITS
    starts = np.empty(buckets + 1, np.int64)
    shift = 0
    while shift == 0 or (largest >> shift) > 0:
        starts[:] = 0
        for e in range(length):
            starts[((keys[e] >> shift) & (buckets - 1)) + 1] += 1
        for b in range(buckets):
            starts[b + 1] += starts[b]
        for e in range(length):
            digit = (keys[order[e]] >> shift) & (buckets - 1)
            buffer[starts[digit]] = order[e]
            starts[digit] += 1
        order[:] = buffer
        shift += _DIGIT_BITS


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _weighted_dot(a, b, weights):
    """Σ w·a·b (exact: integer-valued terms far below 2**53, so reassociation changes nothing)."""
    total = 0.0
    for e in range(a.shape[0]):
        total += weights[e] * a[e] * b[e]
    return total


@njit(cache=True, nogil=True)
def _similarity(cross, var_a, var_b, scale, rho_a):
    if rho_a:
        return cross * scale
    denominator = np.sqrt(var_a * var_b)
    return cross / denominator if denominator > 0 else 0.0


@njit(cache=True, nogil=True)
def _centred_fixed_ranks(out, sorted_values, order, position, tied, weights, present, mean, cumulative):
    """Centred twice-ranks (``- mean``) of a fixed RDM at the ``present`` pairs, written to ``out``.

    Without ties: cumulative weights along the order, read at each present pair's ``position`` in it."""
    if tied:
        _twice_ranks_into(cumulative, sorted_values, order, weights)
        for j in range(present.shape[0]):
            out[j] = cumulative[present[j]] - mean
        return
    total = 0
    for k in range(order.shape[0]):
        total += weights[order[k]]
        cumulative[k] = total
    for j in range(present.shape[0]):
        e = present[j]
        out[j] = 2 * cumulative[position[e]] - weights[e] + 1 - mean


@njit(cache=True, nogil=True)
def _bootstrap_kernel(model_sorted, model_order, data_sorted, data_order, counts, subject_index, rows, cols,
                      rho_a, with_ceiling):
    size, n_pairs = counts.shape[0], rows.shape[0]
    n_models, n_data, n_subjects = model_order.shape[0], data_order.shape[0], subject_index.shape[1]
    model_tied = np.array([np.any(model_sorted[m, 1:] == model_sorted[m, :-1]) for m in range(n_models)])
    data_tied = np.array([np.any(data_sorted[r, 1:] == data_sorted[r, :-1]) for r in range(n_data)])
    model_position, data_position = np.empty_like(model_order), np.empty_like(data_order)
    for m in range(n_models):
        model_position[m, model_order[m]] = np.arange(n_pairs)
    for r in range(n_data):
        data_position[r, data_order[r]] = np.arange(n_pairs)
    sims = np.empty((size, n_models))
    ceiling = np.full((size, 2), np.nan)
    for b in range(size):
        weights = np.empty(n_pairs, np.int64)
        for e in range(n_pairs):
            weights[e] = counts[b, rows[e]] * counts[b, cols[e]]
        present = np.flatnonzero(weights)  # pairs of weight 0 take no part: work on the others only
        length = present.shape[0]
        total = weights.sum()
        mean = total + 1  # weighted mean of twice-ranks
        scale = 3.0 / (float(total) ** 3 - total)  # rho-a: 12 / (W^3 - W), twice-ranks carry a factor 4
        w = np.empty(length)
        for j in range(length):
            w[j] = weights[present[j]]
        cumulative = np.empty(n_pairs, np.int64)
        data_ranks = np.empty((n_data, length))
        for r in range(n_data):
            _centred_fixed_ranks(data_ranks[r], data_sorted[r], data_order[r], data_position[r], data_tied[r],
                                 weights, present, mean, cumulative)
        subjects = np.empty((n_subjects, length))
        subject_var = np.empty(n_subjects)
        for s in range(n_subjects):
            subjects[s] = data_ranks[subject_index[b, s]]
            subject_var[s] = _weighted_dot(subjects[s], subjects[s], w)
        centred = np.empty(length)
        for m in range(n_models):
            _centred_fixed_ranks(centred, model_sorted[m], model_order[m], model_position[m], model_tied[m],
                                 weights, present, mean, cumulative)
            var = _weighted_dot(centred, centred, w)
            acc = 0.0
            for s in range(n_subjects):
                acc += _similarity(_weighted_dot(centred, subjects[s], w), var, subject_var[s], scale, rho_a)
            sims[b, m] = acc / n_subjects
        if with_ceiling:
            _noise_ceiling_into(ceiling[b], subjects, subject_var, w, mean, scale, rho_a)
    return sims, ceiling


@njit(cache=True, nogil=True)
def _noise_ceiling_into(out, subjects, subject_var, w, mean, scale, rho_a):
    """(lower, upper) from the subjects' centred twice-ranks: each against the ranked pool of all subjects and
    of the others (pools are sums of twice-ranks, whose ranks are those of the mean ranks)."""
    n_subjects, length = subjects.shape
    weights = w.astype(np.int64)
    pool = np.zeros(length, np.int64)
    for s in range(n_subjects):
        for j in range(length):
            pool[j] += np.int64(subjects[s, j] + mean)
    keys, sorted_keys, twice = np.empty(length, np.int64), np.empty(length, np.int64), np.empty(length, np.int64)
    order, buffer = np.empty(length, np.int64), np.empty(length, np.int64)
    centred = np.empty(length)
    lower, upper = 0.0, 0.0
    for p in range(n_subjects + 1):  # the pool of all subjects, then each leave-one-out pool
        for j in range(length):
            keys[j] = pool[j] if p == 0 else pool[j] - np.int64(subjects[p - 1, j] + mean)
        _radix_order(keys, order, buffer)
        for j in range(length):
            sorted_keys[j] = keys[order[j]]
        _twice_ranks_into(twice, sorted_keys, order, weights)
        for j in range(length):
            centred[j] = twice[j] - mean
        var = _weighted_dot(centred, centred, w)
        if p == 0:
            for s in range(n_subjects):
                upper += _similarity(_weighted_dot(centred, subjects[s], w), var, subject_var[s], scale, rho_a)
        else:
            lower += _similarity(_weighted_dot(centred, subjects[p - 1], w), var, subject_var[p - 1], scale, rho_a)
    out[0] = lower / n_subjects
    out[1] = upper / n_subjects
