"""Comparing RDMs: rank and linear correlations, Kendall's tau, cosine and whitened (rsatoolbox) similarities,
and Net2Brain's distances between RDMs.

Everything is batched: ``compare_vectors(a, b)`` turns ``(..., k_a, n_pairs)`` and ``(..., k_b, n_pairs)``
into ``(..., k_a, k_b)`` with one matrix product after centring / ranking, so 100 model RDMs against one
brain RDM cost one product. Ranks of an RDM are computed once and kept on the (read-only) `RDM` object
for repeated comparisons with it. Backend, device and dtype come from the compute context
(:func:`brainalign.core.config.config_context`). Kendall's tau counts discordant pairs by
a vectorised merge sort (log₂ n_pairs batched sorts), never by looping over pairs of entries.

Method names and their rsatoolbox equivalents: ``spearman``, ``pearson`` (``corr``), ``tau-a``, ``tau-b``
(``kendall``), ``rho-a``, ``cosine``, ``whitened-pearson`` (``corr_cov``), ``whitened-cosine`` (``cosine_cov``).
``euclidean`` and ``manhattan`` (Net2Brain's) are distances between the condensed vectors, ``‖a - b‖₂`` and
``‖a - b‖₁`` (``scipy.spatial.distance.cdist``): their sign is the other way round, lower = more similar,
0 for identical RDMs; they depend on the RDMs' scale, so compare RDMs computed with the same distance.

>>> import numpy as np
>>> from brainalign.data.rdm import RDM
>>> brain = RDM(np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]), list("abcd"))
>>> models = RDM(np.array([[1.0, 2.0, 3.0, 4.0, 6.0, 5.0], [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]]), list("abcd"))
>>> compare_rdms(models, brain, "spearman").astype(float).round(3).tolist()
[[0.943], [-1.0]]
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from brainalign.core.backend import asarray, namespace, to_numpy
from brainalign.core.config import ComputeSettings, compute_settings, rows_per_block
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity._ranks import (
    cummax,
    rank_rows,
    ranks_in_sorted_order,
    rows_per_chunk,
    sort_rows,
    tie_bounds,
)

DISTANCE_METHODS = ("euclidean", "manhattan")  # dissimilarities: lower = more similar
METHODS = ("spearman", "pearson", "tau-a", "tau-b", "rho-a", "cosine", "whitened-pearson", "whitened-cosine",
           *DISTANCE_METHODS)
RANK_METHODS = ("spearman", "rho-a")
MASKABLE_METHODS = ("spearman", "rho-a", "pearson", "cosine")
_GATHER_MAX_RDMS = 4  # up to this many RDMs on the smaller side, rank comparisons gather instead of scatter


def compare_rdms(a: RDM, b: RDM, method: str = "spearman") -> np.ndarray:
    """Similarity of every RDM in ``a`` with every RDM in ``b``: an ``(a.n_rdms, b.n_rdms)`` array.

    Both must index the same stimuli; when only the order differs ``b`` is reordered to ``a``'s order.
    Stimulus sets that differ (or different sizes) raise :class:`InvalidInputError`. A similarity with a
    constant RDM (all zero for the cosine methods) is undefined: NaN, with one warning. For ``euclidean`` and
    ``manhattan`` the result is a distance (lower = more similar), defined for every pair of RDMs.

    >>> import numpy as np
    >>> from brainalign.data.rdm import RDM
    >>> x = RDM(np.array([[1.0, 2.0, 3.0]]), ["a", "b", "c"])
    >>> y = RDM(np.array([[3.0, 2.0, 1.0]]), ["c", "b", "a"])  # the same RDM in another order
    >>> compare_rdms(x, y, "pearson").round(6).tolist()
    [[1.0]]
    """
    check_method(method)
    b = matched(a, b)
    settings = compute_settings()
    if method in RANK_METHODS and min(a.n_rdms, b.n_rdms) <= _GATHER_MAX_RDMS:
        if a.n_rdms < b.n_rdms:
            similarities = to_numpy(_ranked_by_gather(b.condensed, a, method, settings)).T
        else:
            similarities = to_numpy(_ranked_by_gather(a.condensed, b, method, settings))
    else:
        va, vb = prepared_vectors(a, method, settings), prepared_vectors(b, method, settings)
        similarities = to_numpy(compare_vectors(va, vb, method, ranked=method in RANK_METHODS))
    return _undefined_as_nan(similarities, a, b, method)


def _undefined_as_nan(similarities: np.ndarray, a: RDM, b: RDM, method: str) -> np.ndarray:
    """NaN where an RDM is constant (all zero, for the cosine methods), with one warning that names them."""
    if method in DISTANCE_METHODS:
        return similarities
    bad_a, bad_b = _degenerate(a.condensed, method), _degenerate(b.condensed, method)
    if not (bad_a.any() or bad_b.any()):
        return similarities
    kind = "all zero" if method in ("cosine", "whitened-cosine") else "constant"
    warnings.warn(
        f"{int(bad_a.sum())} RDM(s) of the first argument (rows {np.flatnonzero(bad_a)[:5].tolist()}) and "
        f"{int(bad_b.sum())} of the second (rows {np.flatnonzero(bad_b)[:5].tolist()}) are {kind}, so their "
        f"{method} similarity is undefined: NaN (constant features give a constant RDM)",
        RuntimeWarning, stacklevel=3,
    )
    similarities = np.array(similarities, dtype=float)
    similarities[bad_a, :] = np.nan
    similarities[:, bad_b] = np.nan
    return similarities


def _degenerate(condensed: np.ndarray, method: str) -> np.ndarray:
    """Which RDMs (rows) make ``method`` undefined: constant ones, or all-zero ones for the cosine methods."""
    if method in ("cosine", "whitened-cosine"):
        return ~np.any(condensed != 0, axis=1)
    return np.all(condensed == condensed[:, :1], axis=1)


def _ranked_by_gather(many: np.ndarray, few: RDM, method: str, settings: ComputeSettings) -> Any:
    """Spearman / rho-a ``(k_many, k_few)`` without ranking ``many`` in place: each of its rows is only sorted,
    and the centred ranks of ``few`` (kept on the RDM) are gathered in that order: one pass per row instead of a
    scatter, a centring and a product over all ``k_many`` rank vectors."""
    n = many.shape[-1]
    centre = (n + 1) / 2
    few_ranks = prepared_vectors(few, method, settings) - centre
    xp = namespace(few_ranks)
    x = asarray(many, settings.backend, settings.device, settings.dtype)
    step = rows_per_chunk(n)
    distinct = xp.arange(1, n + 1, dtype=few_ranks.dtype, device=getattr(few_ranks, "device", None)) - centre
    dots, norms = [], []
    for start in range(0, x.shape[0], step):
        sorted_values, order = sort_rows(x[start:start + step])
        ties = tie_bounds(sorted_values)
        ranks = distinct if ties is None else ranks_in_sorted_order(sorted_values, ties) - centre
        flat_order = xp.reshape(order, (-1,))
        gathered = [xp.reshape(xp.take(row, flat_order), order.shape) for row in few_ranks]
        dots.append(xp.stack([_vecdot(ranks, g) for g in gathered], axis=-1))
        norms.append(xp.broadcast_to(_vecdot(ranks, ranks), order.shape[:-1]))
    dots = xp.concat(dots, axis=0)
    if method == "rho-a":
        return dots * 12 / (n**3 - n)
    return _normalised(dots, xp.concat(norms, axis=0), _vecdot(few_ranks, few_ranks))


def matched(a: RDM, b: RDM) -> RDM:
    """``b`` indexed like ``a`` (reordered when the stimulus sets are equal), or a clear error."""
    if a.stimulus_ids == b.stimulus_ids:
        return b
    if a.n_stimuli != b.n_stimuli or set(a.stimulus_ids) != set(b.stimulus_ids):
        only_a = sorted(set(a.stimulus_ids) - set(b.stimulus_ids))
        only_b = sorted(set(b.stimulus_ids) - set(a.stimulus_ids))
        raise InvalidInputError(
            f"RDMs index different stimuli ({a.n_stimuli} vs {b.n_stimuli}): "
            f"{len(only_a)} only in the first (e.g. {only_a[:3]}), {len(only_b)} only in the second (e.g. {only_b[:3]})"
        )
    return b.reorder(a.stimulus_ids)


def check_method(method: str) -> None:
    """An `UnknownNameError` listing the valid comparison methods unless ``method`` is one of them.

    >>> check_method("spearman")
    """
    if method not in METHODS:
        raise UnknownNameError("RDM comparison", method, METHODS)


def prepared_vectors(rdm: RDM, method: str, settings: ComputeSettings) -> Any:
    """The condensed RDMs on the backend, rank-transformed for rank methods (ranks kept on the RDM object,
    whose values are read-only)."""
    if method not in RANK_METHODS:
        return asarray(rdm.condensed, settings.backend, settings.device, settings.dtype)
    return rdm.derived(("ranks", settings.backend, settings.device, settings.dtype),
                       lambda values: rank_rows(asarray(values, settings.backend, settings.device, settings.dtype)))


def compare_vectors(a: Any, b: Any, method: str, *, weights: Any | None = None, ranked: bool = False) -> Any:
    """Similarities ``(..., k_a, k_b)`` of condensed RDMs ``a`` ``(..., k_a, P)`` and ``b`` ``(..., k_b, P)``.

    ``weights`` (broadcastable to ``(..., 1, P)``; a boolean mask or counts) weight the entries: 0 excludes one
    and ``c`` counts it ``c`` times, which is how a bootstrap sample that repeats stimuli is evaluated without
    building it (methods: spearman, rho-a, pearson, cosine). ``ranked=True`` says ``a`` and ``b`` already hold
    (equally weighted) ranks, for spearman and rho-a.

    >>> import numpy as np
    >>> compare_vectors(np.array([[1.0, 2, 3]]), np.array([[1.0, 3, 2], [3.0, 2, 1]]), "spearman").round(6).tolist()
    [[0.5, -1.0]]
    """
    check_method(method)
    xp = namespace(a, b)
    if weights is not None and method not in MASKABLE_METHODS:
        raise InvalidInputError(f"weighting entries works for {MASKABLE_METHODS}; got method {method!r}")
    if method in ("tau-a", "tau-b"):
        return _kendall_tau(a, b, method)
    if method in DISTANCE_METHODS:
        return _distances(a, b, method)
    if method in ("whitened-pearson", "whitened-cosine"):
        if method == "whitened-pearson":
            a, b = a - xp.mean(a, axis=-1, keepdims=True), b - xp.mean(b, axis=-1, keepdims=True)
        return _cosine(_double_centred(a), _double_centred(b))
    if method in RANK_METHODS and not ranked:
        a, b = rank_rows(a, weights), rank_rows(b, weights)
    if method != "cosine":
        a, b = _centred(a, weights), _centred(b, weights)
    if weights is not None:
        root = xp.sqrt(xp.astype(weights, a.dtype))
        a, b = a * root, b * root
    if method == "rho-a":
        count = a.shape[-1] if weights is None else xp.sum(xp.astype(weights, a.dtype), axis=-1)[..., None]
        return (a @ xp.matrix_transpose(b)) * 12 / (count**3 - count)
    return _cosine(a, b)


def _distances(a: Any, b: Any, method: str) -> Any:
    """Euclidean / Manhattan distances ``(..., k_a, k_b)`` between condensed RDMs, from the differences themselves
    (exact for nearly identical RDMs, where ``|a|² + |b|² - 2ab`` would cancel), a block of rows of ``a`` at a time."""
    xp = namespace(a, b)
    rows = rows_per_block(8 * b.shape[-2] * b.shape[-1] * max(1, math.prod(b.shape[:-2])), a.shape[-2])
    blocks = []
    for start in range(0, a.shape[-2], rows):
        difference = a[..., start:start + rows, None, :] - b[..., None, :, :]
        if method == "manhattan":
            blocks.append(xp.sum(xp.abs(difference), axis=-1))
        else:
            blocks.append(xp.sqrt(xp.sum(difference * difference, axis=-1)))
    return xp.concat(blocks, axis=-2)


def _centred(v: Any, weights: Any | None) -> Any:
    """``v`` minus its (weighted) mean along the last axis."""
    xp = namespace(v)
    if weights is None:
        return v - xp.mean(v, axis=-1, keepdims=True)
    weights = xp.astype(weights, v.dtype)
    return v - xp.sum(v * weights, axis=-1, keepdims=True) / xp.sum(weights, axis=-1, keepdims=True)


def _cosine(a: Any, b: Any) -> Any:
    """Cosine similarity of every row of ``a`` with every row of ``b`` (0 where a row is all zeros, as rsatoolbox)."""
    xp = namespace(a, b)
    return _normalised(a @ xp.matrix_transpose(b), _vecdot(a, a), _vecdot(b, b))


def _vecdot(a: Any, b: Any) -> Any:
    """Dot products along the last axis (``np.vecdot`` is a slow unvectorised loop; einsum is not)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.einsum("...i,...i->...", a, b)
    return namespace(a, b).vecdot(a, b)


def _normalised(dots: Any, squared_norms_a: Any, squared_norms_b: Any) -> Any:
    """``dots[..., i, j] / (|a_i| |b_j|)``, 0 where a norm is 0."""
    xp = namespace(dots)
    denominator = xp.sqrt(squared_norms_a[..., :, None] * squared_norms_b[..., None, :])
    return xp.where(denominator > 0, dots / xp.where(denominator > 0, denominator, 1.0), 0.0)


def _double_centred(v: Any) -> Any:
    """Flattened double-centred second-moment matrices ``G = H (-D/2) H`` of condensed RDMs ``(..., k, P)``.

    Their cosine is rsatoolbox's whitened comparison without a pattern covariance (``_cov_weighting``).
    """
    xp = namespace(v)
    n = int(round((1 + math.sqrt(1 + 8 * v.shape[-1])) / 2))
    iu = np.triu_indices(n, k=1)
    device = getattr(v, "device", None)
    square = xp.zeros((*v.shape[:-1], n * n), dtype=v.dtype, device=device)
    square[..., xp.asarray(iu[0] * n + iu[1], device=device)] = v
    square[..., xp.asarray(iu[1] * n + iu[0], device=device)] = v
    g = -0.5 * xp.reshape(square, (*v.shape[:-1], n, n))
    row = xp.mean(g, axis=-1, keepdims=True)
    g = g - row - xp.matrix_transpose(row) + xp.mean(row, axis=-2, keepdims=True)
    return xp.reshape(g, (*v.shape[:-1], n * n))


def _kendall_tau(a: Any, b: Any, variant: str) -> Any:
    """Kendall's tau-a / tau-b of every row of ``a`` with every row of ``b`` (scipy's tie handling)."""
    xp = namespace(a, b)
    batch, k_a, k_b, n = a.shape[:-2], a.shape[-2], b.shape[-2], a.shape[-1]
    x = xp.reshape(xp.broadcast_to(a[..., :, None, :], (*batch, k_a, k_b, n)), (-1, n))
    y = xp.reshape(xp.broadcast_to(b[..., None, :, :], (*batch, k_a, k_b, n)), (-1, n))
    rows = rows_per_block(64 * n, x.shape[0])  # sorts, merges and masks: ~8 eight-byte temporaries per entry
    taus = xp.concat([_tau_rows(x[i:i + rows], y[i:i + rows], variant) for i in range(0, x.shape[0], rows)])
    return xp.reshape(taus, (*batch, k_a, k_b))


def _tau_rows(x: Any, y: Any, variant: str) -> Any:
    xp = namespace(x)
    by_y = xp.argsort(y, axis=-1, stable=True)
    x, y = xp.take_along_axis(x, by_y, axis=-1), xp.take_along_axis(y, by_y, axis=-1)
    by_x = xp.argsort(x, axis=-1, stable=True)  # lexicographic order: x, then y
    x, y = xp.take_along_axis(x, by_x, axis=-1), xp.take_along_axis(y, by_x, axis=-1)
    n = x.shape[-1]
    total = n * (n - 1) / 2
    x_ties = _tied_pairs(x[..., 1:] != x[..., :-1])
    y_ties = _tied_pairs(xp.sort(y, axis=-1)[..., 1:] != xp.sort(y, axis=-1)[..., :-1])
    joint_ties = _tied_pairs((x[..., 1:] != x[..., :-1]) | (y[..., 1:] != y[..., :-1]))
    discordant = _inversions(y)
    concordant_minus_discordant = total - x_ties - y_ties + joint_ties - 2 * discordant
    if variant == "tau-a":
        tau = concordant_minus_discordant / total
    else:
        tau = concordant_minus_discordant / xp.sqrt((total - x_ties) * (total - y_ties))
    return xp.clip(xp.astype(tau, x.dtype), -1.0, 1.0)


def _tied_pairs(changes: Any) -> Any:
    """Number of tied pairs per row of a sorted array, given where consecutive values change."""
    xp = namespace(changes)
    device = getattr(changes, "device", None)
    width = changes.shape[-1] + 1
    position = xp.broadcast_to(xp.arange(width, device=device), (*changes.shape[:-1], width))
    true = xp.ones((*changes.shape[:-1], 1), dtype=xp.bool, device=device)
    start = cummax(xp.where(xp.concat([true, changes], axis=-1), position, 0))
    return xp.astype(xp.sum(position - start, axis=-1), xp.float64)


def _inversions(y: Any) -> Any:
    """Pairs ``i < j`` with ``y_i > y_j`` per row, by a bottom-up merge sort vectorised over rows and blocks.

    At each level two sorted neighbours ``L``, ``R`` are merged by one stable sort; an element of ``R`` that
    lands at merged position ``m`` with index ``k`` in ``R`` has ``m - k`` elements of ``L`` not above it.
    """
    xp = namespace(y)
    device = getattr(y, "device", None)
    rows, n = y.shape
    length = 1 << max(0, (n - 1).bit_length())
    pad = xp.full((rows, length - n), math.inf, dtype=y.dtype, device=device)
    merged = xp.concat([y, pad], axis=-1)
    count = xp.zeros(rows, dtype=xp.float64, device=device)
    width = 1
    while width < length:
        blocks = xp.reshape(merged, (rows, length // (2 * width), 2 * width))
        order = xp.argsort(blocks, axis=-1, stable=True)
        position = xp.argsort(order, axis=-1)[..., width:]
        index_in_right = xp.arange(width, device=device)
        not_above = position - index_in_right
        count = count + xp.astype(xp.sum(xp.reshape(width - not_above, (rows, -1)), axis=-1), xp.float64)
        merged = xp.reshape(xp.take_along_axis(blocks, order, axis=-1), (rows, length))
        width *= 2
    return count
