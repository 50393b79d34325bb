"""Distances between response distributions: Jensen–Shannon divergence and the 1-D Wasserstein distance.

Both compare samples along one axis and are vectorised over the others: with ``axis=0`` each unit's
distribution over stimuli is compared with the same column of the other array; with ``axis=1`` each
stimulus's population response (over units vs. over neuroids, any counts) is compared.

* :func:`jensen_shannon_divergence` of given (unnormalised) distributions; its square root is
  ``scipy.spatial.distance.jensenshannon``.
* :func:`histogram_jensen_shannon` of samples, binned on bins shared by both samples.
* :func:`wasserstein_1d` of samples, exact (``scipy.stats.wasserstein_distance``) by one merged sort.
* :func:`net2brain_distribution_distance`: Net2Brain's histogram versions of both, for comparing numbers with
  Net2Brain. Both sides are reduced by PCA to the smaller number of features and their columns z-scored;
  each column gets its own ``bins``-bin density histogram over its own range (``numpy.histogram``), and the
  per-feature distances are averaged. Its JSD (in nats, ``[0, ln 2]``) clips the densities to ``[1e-8, 1]``
  before normalising them, so it is not the JSD of the samples; its Wasserstein distance places BOTH
  histograms on the bin centres of the first one, so it compares the histograms' shapes, not where the values
  lie. Use the sample-based functions above unless you need Net2Brain's numbers.

>>> import numpy as np
>>> float(jensen_shannon_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])))
1.0
>>> round(float(wasserstein_1d(np.array([0.0, 1.0]), np.array([2.0, 3.0, 4.0]))), 6)
2.5
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from brainalign.core.backend import namespace
from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.mapping.reduction import PCA
from brainalign.metrics.similarity.cka import standardized_columns

NET2BRAIN_METRICS = ("jsd", "wasserstein")


def jensen_shannon_divergence(p: Any, q: Any, axis: int = -1, base: float = 2.0) -> Any:
    """JS divergence of distributions ``p`` and ``q`` along ``axis`` (each normalised to sum to 1).

    In ``[0, 1]`` for ``base=2``; numpy or torch arrays.

    >>> import numpy as np
    >>> round(float(jensen_shannon_divergence(np.array([1.0, 1.0]), np.array([3.0, 1.0]))), 4)
    0.0488
    """
    xp = namespace(p, q)
    if p.shape != q.shape:
        raise InvalidInputError(f"distributions must have the same shape; got {tuple(p.shape)} and {tuple(q.shape)}")
    if bool(xp.any(p < 0)) or bool(xp.any(q < 0)):
        raise InvalidInputError("distributions must be non-negative (probabilities or counts)")
    p_total, q_total = xp.sum(p, axis=axis, keepdims=True), xp.sum(q, axis=axis, keepdims=True)
    if bool(xp.any(p_total == 0)) or bool(xp.any(q_total == 0)):
        raise InvalidInputError("a distribution sums to 0; it cannot be normalised")
    p, q = p / p_total, q / q_total
    m = (p + q) / 2
    return (_kl_divergence(p, m, axis) + _kl_divergence(q, m, axis)) / (2 * math.log(base))


def _kl_divergence(p: Any, m: Any, axis: int) -> Any:
    """KL(p || m) in nats, for ``m > 0`` wherever ``p > 0`` (0 log 0 = 0)."""
    xp = namespace(p, m)
    support = p > 0
    ratio = xp.where(support, p, xp.ones_like(p)) / xp.where(support, m, xp.ones_like(m))
    return xp.sum(p * xp.log(ratio), axis=axis)


def shared_histograms(x: Any, y: Any, bins: int = 30, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Counts of ``x`` and ``y`` along ``axis`` in ``bins`` equal bins spanning both samples' range.

    The other axes must agree; returns ``(..., bins)`` arrays (one histogram pair per column).

    >>> hx, hy = shared_histograms(np.array([0.0, 1.0, 1.0]), np.array([2.0]), bins=2)
    >>> hx.tolist(), hy.tolist()
    ([1, 2], [0, 1])
    """
    if int(bins) < 1:
        raise InvalidInputError(f"bins must be a positive integer; got {bins}")
    x, y = _samples_last(np.asarray(x), np.asarray(y), axis)
    low = np.minimum(x.min(axis=-1), y.min(axis=-1))[..., None]
    width = (np.maximum(x.max(axis=-1), y.max(axis=-1))[..., None] - low) / bins
    width = np.where(width > 0, width, 1.0)  # a constant column: everything in the first bin
    columns = np.arange(int(np.prod(x.shape[:-1])), dtype=np.int64).reshape(*x.shape[:-1], 1) * bins

    def counts(samples: np.ndarray) -> np.ndarray:
        index = np.clip(np.floor((samples - low) / width).astype(np.int64), 0, bins - 1) + columns
        return np.bincount(index.ravel(), minlength=columns.size * bins).reshape(*x.shape[:-1], bins)

    return counts(x), counts(y)


def histogram_jensen_shannon(x: Any, y: Any, bins: int = 30, axis: int = 0, base: float = 2.0) -> np.ndarray:
    """JS divergence between the sample distributions of ``x`` and ``y`` along ``axis``, on shared bins.

    >>> rng = np.random.default_rng(0)
    >>> same, shifted = histogram_jensen_shannon(rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2)) + [0, 3])
    >>> bool(same < 0.02), bool(shifted > 0.5)
    (True, True)
    """
    hx, hy = shared_histograms(x, y, bins, axis)
    return jensen_shannon_divergence(hx.astype(float), hy.astype(float), axis=-1, base=base)


def wasserstein_1d(x: Any, y: Any, axis: int = 0) -> Any:
    """Exact 1-D Wasserstein (earth mover's) distance between the samples of ``x`` and ``y`` along ``axis``.

    Sample counts may differ; the other axes must agree. ``∫ |F_x - F_y|`` is summed over the merged sorted
    samples, so all columns cost one batched sort (numpy or torch).

    >>> import numpy as np
    >>> wasserstein_1d(np.array([[0.0, 5.0], [1.0, 5.0]]), np.array([[1.0, 5.0], [2.0, 5.0]])).tolist()
    [1.0, 0.0]
    """
    x, y = _samples_last(x, y, axis)
    xp = namespace(x, y)
    n, m = x.shape[-1], y.shape[-1]
    values = xp.concat([x, y], axis=-1)
    order = xp.argsort(values, axis=-1, stable=True)
    device = getattr(values, "device", None)
    steps = xp.concat([xp.full((n,), 1 / n, dtype=values.dtype, device=device),
                       xp.full((m,), -1 / m, dtype=values.dtype, device=device)])
    steps = xp.take_along_axis(xp.broadcast_to(steps, values.shape), order, axis=-1)
    cdf_difference = xp.cumulative_sum(steps, axis=-1)[..., :-1]  # F_x - F_y between consecutive samples
    sorted_values = xp.take_along_axis(values, order, axis=-1)
    gaps = sorted_values[..., 1:] - sorted_values[..., :-1]
    return xp.sum(xp.abs(cdf_difference) * gaps, axis=-1)


def _samples_last(x: Any, y: Any, axis: int) -> tuple[Any, Any]:
    """``x`` and ``y`` with the sample axis moved last, checked to be non-empty with equal other axes."""
    xp = namespace(x, y)
    x, y = xp.moveaxis(x, axis, -1), xp.moveaxis(y, axis, -1)
    if x.shape[:-1] != y.shape[:-1] or x.shape[-1] == 0 or y.shape[-1] == 0:
        raise InvalidInputError(
            f"samples along axis {axis} must be non-empty with equal other axes; got {tuple(x.shape)}, {tuple(y.shape)}"
        )
    return x, y


def column_histograms(x: Any, bins: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Density histograms ``(n_columns, bins)`` and bin centres of each column of ``x`` over its own range, bin
    for bin as ``numpy.histogram(column, bins, density=True)`` (a constant column spans ``value ± 0.5``).

    >>> density, centres = column_histograms(np.array([[0.0], [1.0], [1.0], [4.0]]), bins=2)
    >>> density.tolist(), centres.tolist()
    ([[0.375, 0.125]], [[1.0, 3.0]])
    """
    if int(bins) < 1:
        raise InvalidInputError(f"bins must be a positive integer; got {bins}")
    columns = np.asarray(x, dtype=float).T
    low, high = columns.min(axis=1), columns.max(axis=1)
    constant = low == high
    low, high = np.where(constant, low - 0.5, low), np.where(constant, high + 0.5, high)
    edges = low[:, None] + np.arange(bins + 1) * ((high - low) / bins)[:, None]  # as numpy.linspace
    edges[:, -1] = high
    index = (((columns - low[:, None]) / (high - low)[:, None]) * bins).astype(np.intp)
    index[index == bins] -= 1
    index -= columns < np.take_along_axis(edges, index, axis=1)  # correct rounding at the edges
    index += (columns >= np.take_along_axis(edges, index + 1, axis=1)) & (index != bins - 1)
    offsets = np.arange(columns.shape[0])[:, None] * bins
    counts = np.bincount((index + offsets).ravel(), minlength=columns.shape[0] * bins).reshape(-1, bins)
    density = counts / np.diff(edges, axis=1) / columns.shape[1]
    return density, (edges[:, :-1] + edges[:, 1:]) / 2


def net2brain_distribution_distance(x: Any, y: Any, metric: str = "jsd", bins: int = 50,
                                    eps: float = 1e-8) -> float:
    """Net2Brain's distributional comparison of ``x`` (stimulus × unit) and ``y`` (stimulus × neuroid): the mean
    over features of the histogram JSD or Wasserstein distance (module docstring; lower = more similar).

    PCA is exact (one SVD, sklearn's signs); Net2Brain's sklearn ``PCA`` may switch to a randomised solver for
    large arrays, whose numbers then vary from run to run.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 3))
    >>> round(net2brain_distribution_distance(x, x), 6), bool(net2brain_distribution_distance(x, x**3) > 0.1)
    (0.0, True)
    """
    if metric not in NET2BRAIN_METRICS:
        raise UnknownNameError("Net2Brain distributional metric", metric, NET2BRAIN_METRICS)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise InvalidInputError(f"x and y must be (stimulus, feature) arrays of the same stimuli; got shapes "
                                f"{x.shape} and {y.shape}")
    n_features = min(x.shape[1], y.shape[1])
    with config_context(backend="numpy", dtype="float64"):
        x, y = (PCA(n_components=n_features).fit_transform(a) for a in (x, y))
    for name, components in (("x", x), ("y", y)):
        spread = components.std(axis=0)
        if not spread.min() > 1e-10 * spread.max():
            warnings.warn(f"Net2Brain's distributional comparison is undefined: {name} has rank "
                          f"{int(np.sum(spread > 1e-10 * spread.max()))} < {n_features} compared components, so "
                          "some are rounding noise scaled to unit variance; drop constant or duplicate columns. "
                          "The distance is NaN", RuntimeWarning, stacklevel=2)
            return math.nan
    x, y = standardized_columns(x), standardized_columns(y)
    (p, centres), (q, _) = column_histograms(x, bins), column_histograms(y, bins)
    if metric == "wasserstein":  # weights on the first histogram's centres, for both (as Net2Brain)
        cdf_gap = np.cumsum(p, axis=1) / p.sum(1, keepdims=True) - np.cumsum(q, axis=1) / q.sum(1, keepdims=True)
        distances = np.sum(np.abs(cdf_gap[:, :-1]) * np.diff(centres, axis=1), axis=1)
    else:
        p, q = np.clip(p, eps, 1), np.clip(q, eps, 1)
        m = (p + q) / 2  # then each normalised on its own, as scipy.stats.entropy(p, m) does
        p, q, m = (v / v.sum(axis=1, keepdims=True) for v in (p, q, m))
        distances = (_kl_divergence(p, m, axis=1) + _kl_divergence(q, m, axis=1)) / 2
    return float(distances.mean())
