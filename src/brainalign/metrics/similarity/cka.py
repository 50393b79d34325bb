"""Centered kernel alignment (CKA): how similar two representations of the same stimuli are.

CKA compares the stimulus × stimulus Gram matrices ``K`` (source) and ``L`` (target) through the
Hilbert–Schmidt independence criterion, ``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))``
(Kornblith et al. 2019). Everything works on the n × n Grams, so the cost does not grow with the
number of units beyond one ``X @ X.T`` (which can be accumulated block by block for out-of-core features).

* ``kernel="linear"``: ``K = Xc Xc.T`` (columns centred).
* ``kernel="rbf"``: ``K = exp(-d² / (2 σ²))`` with ``σ = bandwidth_factor × median`` off-diagonal distance.
* ``unbiased=False``: ``HSIC = tr(K H L H) / (n - 1)²`` (``H`` the centring matrix).
* ``standardize=True``: every feature column is z-scored first (mean 0, population std 1; constant columns
  become 0), as Net2Brain's CKA does (scikit-learn's ``StandardScaler``): each unit then weighs the same,
  whatever its scale. The default (``False``) keeps the units' scales, as Kornblith et al.'s linear CKA.
* ``unbiased=True``: the unbiased HSIC estimator of Song et al. (2012), which removes the positive bias
  that makes biased CKA large for independent high-dimensional data ("debiased CKA").

CKA is undefined with fewer than ``MIN_STIMULI`` stimuli or for a representation that is the same for every
stimulus (zero self-HSIC): NaN with one warning. The metric computes on the compute context's backend, device
and dtype (:func:`brainalign.core.config.config_context`); torch inputs stay on their device.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(50, 10))
>>> round(cka(x, 3 * x + 1), 6), round(cka(x, x, kernel="rbf", unbiased=True), 6)
(1.0, 1.0)
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import array_api_compat
import xarray as xr

from brainalign.core.backend import asarray, namespace
from brainalign.core.config import compute_settings
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import align, average_repetitions, check_finite
from brainalign.core.score import Score
from brainalign.metrics.registry import register_metric

KERNELS = ("linear", "rbf")
MIN_STIMULI = 4


def gram(x: Any, kernel: str = "linear", bandwidth_factor: float = 1.0) -> Any:
    """The n × n stimulus Gram matrix of ``x`` (stimulus × unit) for a ``"linear"`` or ``"rbf"`` kernel.

    >>> import numpy as np
    >>> gram(np.array([[0., 0.], [3., 4.]]), kernel="rbf").round(3).tolist()
    [[1.0, 0.607], [0.607, 1.0]]
    """
    if kernel not in KERNELS:
        raise UnknownNameError("kernel", kernel, KERNELS)
    xp = namespace(x)
    centred = x - xp.mean(x, axis=0, keepdims=True)
    dot = centred @ centred.T
    return dot if kernel == "linear" else _rbf_from_dot(dot, bandwidth_factor)


def _rbf_from_dot(dot: Any, bandwidth_factor: float) -> Any:
    if not bandwidth_factor > 0:
        raise InvalidInputError(f"bandwidth_factor must be positive; got {bandwidth_factor}")
    xp = namespace(dot)
    sq_norms = xp.linalg.diagonal(dot)
    sq_dist = xp.clip(sq_norms[:, None] + sq_norms[None, :] - 2 * dot, min=0.0)
    n = dot.shape[0]
    # The n diagonal zeros are the smallest entries; each off-diagonal distance appears twice, which
    # leaves the median unchanged.
    distances = xp.sqrt(xp.sort(xp.reshape(sq_dist, (-1,)))[n:])
    median = (distances[(n * n - n - 1) // 2] + distances[(n * n - n) // 2]) / 2
    if not float(median) > 0:
        raise InvalidInputError("the median pairwise distance is 0 (most stimuli are identical); RBF CKA is undefined")
    return xp.exp(-sq_dist / (2 * (bandwidth_factor * median) ** 2))


def hsic(k: Any, l_gram: Any, unbiased: bool = False) -> Any:
    """Hilbert–Schmidt independence criterion of two n × n Gram matrices (a 0-d array).

    Biased: ``tr(K H L H) / (n - 1)²``. Unbiased (Song et al. 2012, needs n ≥ 4), with zeroed diagonals
    ``K̃, L̃``: ``[tr(K̃ L̃) + 1ᵀK̃1 · 1ᵀL̃1 / ((n-1)(n-2)) - 2/(n-2) · 1ᵀK̃L̃1] / (n (n - 3))``.

    >>> import numpy as np
    >>> k = np.array([[2., 0.], [0., 0.]])
    >>> float(hsic(k, k))
    1.0
    """
    xp = namespace(k, l_gram)
    n = k.shape[0]
    if k.shape != (n, n) or l_gram.shape != (n, n):
        raise InvalidInputError(
            f"HSIC needs two square Grams of the same size; got {tuple(k.shape)}, {tuple(l_gram.shape)}")
    if not unbiased:
        return xp.sum(_double_centre(k) * l_gram) / (n - 1) ** 2
    if n < 4:
        raise InvalidInputError(f"unbiased HSIC needs at least 4 stimuli; got {n}")
    off_diagonal = 1 - xp.eye(n, dtype=k.dtype, device=array_api_compat.device(k))
    k, l_gram = k * off_diagonal, l_gram * off_diagonal
    k_rows, l_rows = xp.sum(k, axis=1), xp.sum(l_gram, axis=1)
    total = (
        xp.sum(k * l_gram)
        + xp.sum(k_rows) * xp.sum(l_rows) / ((n - 1) * (n - 2))
        - 2 * xp.sum(k_rows * l_rows) / (n - 2)
    )
    return total / (n * (n - 3))


def _double_centre(k: Any) -> Any:
    """``H K H`` without forming ``H``."""
    xp = namespace(k)
    row_means = xp.mean(k, axis=1, keepdims=True)
    col_means = xp.mean(k, axis=0, keepdims=True)
    return k - row_means - col_means + xp.mean(k)


def cka_from_grams(k: Any, l_gram: Any, unbiased: bool = False) -> float:
    """CKA of two precomputed n × n Gram matrices (e.g. accumulated block by block out of core).

    >>> import numpy as np
    >>> x = np.random.default_rng(1).normal(size=(20, 5))
    >>> round(cka_from_grams(x @ x.T, 2 * x @ x.T), 6)
    1.0
    """
    denominator = hsic(k, k, unbiased) * hsic(l_gram, l_gram, unbiased)
    if not float(denominator) > 0:
        return _undefined("one representation has zero (or negative unbiased) self-HSIC, e.g. the same features "
                          "for every stimulus")
    return float(hsic(k, l_gram, unbiased)) / math.sqrt(float(denominator))


def standardized_columns(x: Any) -> Any:
    """Columns of ``x`` z-scored (population std, as ``sklearn.preprocessing.StandardScaler``; constant columns
    become 0).

    >>> import numpy as np
    >>> standardized_columns(np.array([[1.0, 5.0], [3.0, 5.0]])).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """
    xp = namespace(x)
    centred = x - xp.mean(x, axis=0, keepdims=True)
    std = xp.sqrt(xp.mean(centred * centred, axis=0, keepdims=True))
    return centred / xp.where(std > 0, std, xp.ones_like(std))


def _undefined(why: str) -> float:
    warnings.warn(f"CKA is undefined: {why}; the score is NaN", RuntimeWarning, stacklevel=3)
    return math.nan


def cka(x: Any, y: Any, kernel: str = "linear", unbiased: bool = False, bandwidth_factor: float = 1.0,
        standardize: bool = False) -> float:
    """CKA between two (stimulus × feature) arrays of the same stimuli, numpy or torch (``standardize``: z-score
    the feature columns first, Net2Brain's convention).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, q = rng.normal(size=(30, 4)), np.linalg.qr(rng.normal(size=(4, 4)))[0]
    >>> round(cka(x, x @ q * 5.0), 6)
    1.0
    """
    if x.shape[0] != y.shape[0]:
        raise InvalidInputError(f"x and y must have the same stimuli (rows); got {x.shape[0]} and {y.shape[0]}")
    if x.shape[0] < MIN_STIMULI:
        return _undefined(f"it needs at least {MIN_STIMULI} stimuli; got {x.shape[0]}")
    for name, values in (("x", x), ("y", y)):
        if bool(namespace(values).all(values == values[:1])):
            return _undefined(f"{name} is the same for every stimulus")
    if standardize:
        x, y = standardized_columns(x), standardized_columns(y)
    return cka_from_grams(gram(x, kernel, bandwidth_factor), gram(y, kernel, bandwidth_factor), unbiased)


@register_metric("cka")
def cka_metric(
    source: xr.DataArray,
    target: xr.DataArray,
    *,
    kernel: str = "linear",
    unbiased: bool = False,
    bandwidth_factor: float = 1.0,
    standardize: bool = False,
) -> Score:
    """CKA between `Features` and `Responses` (aligned by stimulus id, repetitions averaged); ``standardize=True``
    z-scores every unit and neuroid first, as Net2Brain does.

    >>> import numpy as np
    >>> from brainalign.core.labels import make_features, make_responses
    >>> x = np.random.default_rng(0).normal(size=(10, 3))
    >>> ids = [str(i) for i in range(10)]
    >>> round(cka_metric(make_features(x, ids), make_responses(-x[::-1], ids[::-1])).value, 5)
    1.0
    """
    source, target = align(average_repetitions(source), average_repetitions(target))
    check_finite(source, "features")
    check_finite(target, "responses")
    settings = compute_settings()
    x = asarray(source, settings.backend, settings.device, settings.dtype)
    y = asarray(target, settings.backend, settings.device, settings.dtype)
    value = cka(x, y, kernel=kernel, unbiased=unbiased, bandwidth_factor=bandwidth_factor, standardize=standardize)
    provenance = {"metric": "cka", **{k: source.attrs[k] for k in ("model", "layer") if k in source.attrs}}
    return Score(value=value, extra={"kernel": kernel, "unbiased": unbiased, "bandwidth_factor": bandwidth_factor,
                                     "standardize": standardize},
                 provenance=provenance)
