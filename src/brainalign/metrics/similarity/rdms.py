"""Representational dissimilarity matrices from features or responses.

Every Gram-based distance (correlation, cosine, (sq)euclidean, mahalanobis, crossnobis) is one matrix
product per block of stimuli: rows ``i0:i1`` against rows ``i0:n`` fill exactly the condensed entries of
those rows, so memory stays at ``block × n`` even for 10,000+ stimuli. A leading batch axis carries time
points, so a time-resolved RDM movie costs one batched product per block.

>>> import numpy as np
>>> x = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [1.0, 2.0, 4.0]])
>>> rdm = compute_rdm(x, ["a", "b", "c"], distance="correlation")
>>> rdm.condensed.astype(float).round(3).tolist()  # float32 by default (config_context(dtype=...))
[[2.0, 0.018, 1.982]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.backend import asarray, namespace, to_numpy
from brainalign.core.config import ComputeSettings, compute_settings, rows_per_block
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, TIME, UNIT, check_finite
from brainalign.core.labels import stimulus_ids as labelled_stimulus_ids
from brainalign.data.rdm import RDM

DISTANCES = ("correlation", "cosine", "euclidean", "sqeuclidean", "manhattan", "mahalanobis", "crossnobis")
PRECISIONS = ("identity", "shrinkage")


def compute_rdm(
    features: Any,
    stimulus_ids: Sequence[str] | None = None,
    distance: str | Callable[[np.ndarray, np.ndarray], float] = "correlation",
    *,
    precision: np.ndarray | str = "identity",
    time: Sequence[Any] | None = None,
) -> RDM:
    """The RDM(s) of ``features``: labelled `Features` / `Responses`, or an array with ``stimulus_ids``.

    Array layouts: ``(stimulus, channel)`` → one RDM; ``(stimulus, channel, time)`` → one RDM per time
    point (descriptor ``time``); for ``crossnobis`` ``(stimulus, channel, run[, time])``. Labelled responses
    use their ``repetition`` dim as runs for crossnobis and are averaged over it otherwise.

    Distances (rsatoolbox's conventions for the last two): ``correlation`` (1 - Pearson r), ``cosine``,
    ``euclidean``, ``sqeuclidean``, ``manhattan`` (as ``scipy.spatial.distance.pdist``), ``mahalanobis``
    (squared, per channel: ``(x-y)ᵀ P (x-y) / p``) and ``crossnobis`` (the same, cross-validated by
    leave-one-run-out), or a callable ``f(u, v) -> float`` given to ``pdist``. ``precision`` is a
    ``(p, p)`` matrix, ``"identity"``, or ``"shrinkage"`` (Ledoit–Wolf towards a scaled identity,
    estimated from the residuals around the run means; needs runs). Backend, device, dtype and the block size
    (``working_memory``) come from the compute context; torch inputs stay on their device.

    ``correlation`` / ``cosine`` are undefined for a stimulus whose features are constant / all zero: an error
    names those stimuli.

    >>> import numpy as np
    >>> rdm = compute_rdm(np.eye(3), ["a", "b", "c"], distance="euclidean")
    >>> rdm.condensed.astype(float).round(4).tolist(), rdm.distance
    ([[1.4142, 1.4142, 1.4142]], 'euclidean')
    """
    values, ids, time = _as_array(features, stimulus_ids, time, distance)
    if distance in ("correlation", "cosine"):
        _check_defined(values, distance, ids)
    name = getattr(distance, "__name__", "callable") if callable(distance) else distance
    if callable(distance):
        from scipy.spatial.distance import pdist

        condensed = np.stack([pdist(v, distance) for v in _time_first(values, runs=False)])
    else:
        if distance not in DISTANCES:
            raise UnknownNameError("distance", str(distance), DISTANCES)
        settings = compute_settings(values)
        x = asarray(values, settings.backend, settings.device, settings.dtype)
        crossvalidated = distance == "crossnobis"
        if crossvalidated and x.ndim < 3:
            raise InvalidInputError(
                f"crossnobis needs repeated measurements (stimulus, channel, run[, time]); got shape {tuple(x.shape)}"
            )
        batch = _time_first(x, runs=crossvalidated)
        prec = _precision(precision, batch, distance, settings)
        # a block of rows holds a few (batch, rows, n) products and distances ((batch, rows, n, p) for manhattan)
        per_entry = batch.shape[2] if distance == "manhattan" else 4
        block_size = rows_per_block(per_entry * batch.shape[0] * batch.shape[1] * x.dtype.itemsize, batch.shape[1])
        condensed = to_numpy(_condensed_distances(batch, distance, prec, block_size))
    descriptors = pd.DataFrame({"time": list(time)}) if time is not None else pd.DataFrame()
    return RDM(condensed, ids, name, descriptors)


def _as_array(features: Any, ids: Sequence[str] | None, time: Sequence[Any] | None, distance: Any):
    """Values ordered (stimulus, channel[, run][, time]), stimulus ids, and time labels (or None)."""
    if isinstance(features, xr.DataArray):
        ids = labelled_stimulus_ids(features) if ids is None else ids
        channel = UNIT if UNIT in features.dims else NEUROID
        order = [STIMULUS, channel] + [d for d in (REPETITION, TIME) if d in features.dims]
        extra = set(features.dims) - set(order)
        if extra:
            raise InvalidInputError(f"cannot compute an RDM over dims {sorted(extra, key=str)}; expected {order}")
        features = features.transpose(*order)
        if REPETITION in features.dims and distance != "crossnobis":
            features = features.mean(REPETITION, skipna=True)
        if TIME in features.dims and time is None:
            time = features[TIME].values.tolist() if TIME in features.coords else list(range(features.sizes[TIME]))
        features = features.values
    if ids is None:
        raise InvalidInputError("stimulus_ids are required when features are a plain array")
    if features.shape[0] != len(ids):
        raise InvalidInputError(f"{len(ids)} stimulus ids for {features.shape[0]} rows of features")
    values = to_numpy(features)
    if not np.isfinite(np.sum(values)):  # one cheap pass; NaN / inf (or an overflowing sum) get the full check
        check_finite(values, "features")
    has_time = features.ndim == (4 if distance == "crossnobis" else 3)
    if has_time and time is None:
        time = list(range(features.shape[-1]))
    if features.ndim > (4 if distance == "crossnobis" else 3) or features.ndim < 2:
        raise InvalidInputError(f"features of shape {tuple(features.shape)} do not fit distance {distance!r}")
    return features, list(ids), time if has_time else None


def _time_first(x: Any, runs: bool) -> Any:
    """Move a trailing time axis to the front (a batch of 1 without time): (time, stimulus, channel[, run])."""
    base = 3 if runs else 2
    if x.ndim == base:
        return x[None, ...]
    xp = namespace(x)
    return xp.permute_dims(x, (x.ndim - 1, *range(x.ndim - 1)))


def shrinkage_precision(residuals: Any, dof: int | None = None) -> Any:
    """Ledoit–Wolf precision shrunk towards a scaled identity (rsatoolbox ``prec_from_residuals``,
    ``method="shrinkage_eye"``) from residuals ``(observation, channel)``.

    >>> import numpy as np
    >>> prec = shrinkage_precision(np.random.default_rng(0).normal(size=(200, 3)))
    >>> prec.shape
    (3, 3)
    """
    xp = namespace(residuals)
    r = residuals - xp.mean(residuals, axis=0, keepdims=True)
    n = r.shape[0]
    dof = n - 1 if dof is None else dof
    s = (r.T @ r) / n
    b2 = xp.sum(((r * r).T @ (r * r)) / n - s * s) / n
    eye = xp.eye(s.shape[0], dtype=s.dtype, device=getattr(s, "device", None))
    m = xp.sum(xp.linalg.diagonal(s)) / s.shape[0]
    d2 = xp.sum((s - m * eye) ** 2)
    b2 = xp.minimum(b2, d2)
    shrunk = (b2 / d2 * m * eye + (d2 - b2) / d2 * s) * (n / dof)
    return xp.linalg.inv(shrunk)


def _precision(precision: Any, batch: Any, distance: str, settings: ComputeSettings) -> Any | None:
    if distance not in ("mahalanobis", "crossnobis"):
        return None
    p = batch.shape[2]
    if isinstance(precision, str):
        if precision == "identity":
            return None
        if precision != "shrinkage":
            raise UnknownNameError("precision", precision, PRECISIONS)
        if batch.ndim != 4:
            raise InvalidInputError(
                "precision='shrinkage' needs runs (stimulus, channel, run); pass a precision matrix")
        xp = namespace(batch)
        residuals = batch - xp.mean(batch, axis=3, keepdims=True)  # (time, stimulus, channel, run)
        n_stim, n_runs = batch.shape[1], batch.shape[3]
        flat = xp.reshape(xp.permute_dims(residuals[0], (0, 2, 1)), (n_stim * n_runs, p))
        return shrinkage_precision(flat, dof=n_stim * (n_runs - 1))
    prec = asarray(precision, settings.backend, settings.device, settings.dtype)
    if tuple(prec.shape) != (p, p):
        raise InvalidInputError(f"precision must have shape ({p}, {p}) for {p} channels; got {tuple(prec.shape)}")
    return prec


def _condensed_distances(x: Any, distance: str, prec: Any | None, block_size: int) -> Any:
    """Condensed RDMs ``(batch, n_pairs)`` of ``x`` ``(batch, n, p[, run])``, block by block of rows.

    Rows ``i0:i1`` against columns ``i0:n`` hold exactly the condensed entries of those rows (row-major
    upper triangle), so blocks are concatenated in order.
    """
    xp = namespace(x)
    n, p = x.shape[1], x.shape[2]
    left, right, self_sim = _gram_factors(x, distance, prec)
    blocks: list[Any] = []
    for i0 in range(0, n - 1, block_size):
        i1 = min(i0 + block_size, n - 1)
        if distance == "manhattan":
            square = xp.sum(xp.abs(x[:, i0:i1, None, :] - x[:, None, i0:, :]), axis=-1)
        else:
            gram = _gram_block(left, right, i0, i1, xp)
            if distance == "crossnobis":  # k_ij + k_ji with k = <mean of other runs, left-out run>
                gram = gram + right[:, i0:i1] @ xp.matrix_transpose(left[:, i0:])
            square = _gram_to_distance(gram, self_sim, i0, i1, distance, p, xp)
        blocks.extend(square[:, row, row + 1:] for row in range(i1 - i0))  # each row's entries right of the diagonal
    return xp.concat(blocks, axis=1)


def _check_defined(values: Any, distance: str, ids: Sequence[str]) -> None:
    """Raise naming the stimuli whose features are constant (correlation) or all zero (cosine): 0 / 0 distances."""
    values = to_numpy(values)
    bad = np.all(values == values[:, :1], axis=1) if distance == "correlation" else ~np.any(values != 0, axis=1)
    bad = np.flatnonzero(bad.reshape(len(ids), -1).any(axis=1))
    if bad.size:
        what = "constant features (zero variance)" if distance == "correlation" else "all-zero features"
        raise InvalidInputError(
            f"{bad.size} stimuli have {what}, so their {distance} distance is undefined: "
            f"{[ids[i] for i in bad[:5]]}; drop them or use distance='euclidean'"
        )


def _gram_block(left: Any, right: Any, i0: int, i1: int, xp: Any) -> Any:
    """``left[:, i0:i1] @ right[:, i0:].T``; the square part on the diagonal is its own product when
    ``left is right``, which BLAS computes as a symmetric rank-k update (half the work)."""
    diagonal = left[:, i0:i1] @ xp.matrix_transpose(right[:, i0:i1])
    if i1 == left.shape[1]:
        return diagonal
    return xp.concat([diagonal, left[:, i0:i1] @ xp.matrix_transpose(right[:, i1:])], axis=-1)


def _gram_factors(x: Any, distance: str, prec: Any | None) -> tuple[Any, Any, Any]:
    """``(left, right, self_similarity)`` with gram = left @ right.T per batch element (time point)."""
    xp = namespace(x)
    if distance == "manhattan":
        return x, x, None
    if distance == "crossnobis":
        b, n, p, n_runs = x.shape
        runs_last = xp.permute_dims(x, (0, 1, 3, 2))  # (batch, stimulus, run, channel)
        train = (xp.sum(runs_last, axis=2, keepdims=True) - runs_last) / (n_runs - 1)
        if prec is not None:
            train = train @ prec
        left = xp.reshape(train, (b, n, n_runs * p)) / n_runs  # averages the folds in one product
        right = xp.reshape(runs_last, (b, n, n_runs * p))
        return left, right, xp.sum(left * right, axis=2)
    if distance == "correlation":
        x = x - xp.mean(x, axis=2, keepdims=True)
    if distance in ("correlation", "cosine"):  # normalised on the (smaller) Gram block, not on the features
        return x, x, xp.vecdot(x, x)
    left = x if prec is None else x @ prec
    return left, x, xp.sum(left * x, axis=2)


def _gram_to_distance(gram: Any, self_sim: Any, i0: int, i1: int, distance: str, p: int, xp: Any) -> Any:
    if distance in ("correlation", "cosine"):
        return 1 - gram / xp.sqrt(self_sim[:, i0:i1, None] * self_sim[:, None, i0:])
    factor = 1 if distance == "crossnobis" else 2  # crossnobis gram already holds k_ij + k_ji
    sq = self_sim[:, i0:i1, None] + self_sim[:, None, i0:] - factor * gram
    if distance in ("mahalanobis", "crossnobis"):
        return sq / p
    sq = xp.clip(sq, 0, None)
    return xp.sqrt(sq) if distance == "euclidean" else sq
