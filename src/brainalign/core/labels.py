"""Labelled arrays: `Features` (stimulus × unit) and `Responses` (stimulus × neuroid [× repetition] [× time]).

Both are ``xarray.DataArray`` objects whose first dimension is ``stimulus`` and which carry a
``stimulus_id`` coordinate on it. Metrics align two of them by ``stimulus_id`` with :func:`align`.

>>> import numpy as np
>>> f = make_features(np.ones((3, 2)), ["a", "b", "c"], layer="conv1")
>>> r = make_responses(np.zeros((3, 4)), ["c", "a", "b"])
>>> f2, r2 = align(f, r)
>>> list(f2.stimulus_id.values) == list(r2.stimulus_id.values) == ["c", "a", "b"]
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError

STIMULUS = "stimulus"
STIMULUS_ID = "stimulus_id"
UNIT = "unit"
NEUROID = "neuroid"
REPETITION = "repetition"
TIME = "time"


def make_features(
    values: Any,
    stimulus_ids: Sequence[str],
    *,
    layer: str | None = None,
    model: str | None = None,
    unit_ids: Sequence[str] | None = None,
) -> xr.DataArray:
    """Wrap a (stimulus, unit) array (extra trailing dims are flattened into units) as `Features`."""
    array = np.asarray(values)
    if array.ndim < 2:
        raise InvalidInputError(f"features need shape (stimulus, unit, ...); got shape {array.shape}")
    array = array.reshape(array.shape[0], -1)
    _check_ids(stimulus_ids, array.shape[0], "features")
    coords: dict[str, Any] = {STIMULUS_ID: (STIMULUS, [str(s) for s in stimulus_ids])}
    if unit_ids is not None:
        coords["unit_id"] = (UNIT, list(unit_ids))
    attrs = {k: v for k, v in {"layer": layer, "model": model}.items() if v is not None}
    return xr.DataArray(array, dims=(STIMULUS, UNIT), coords=coords, attrs=attrs)


def make_responses(
    values: Any,
    stimulus_ids: Sequence[str],
    *,
    dims: Sequence[str] = (STIMULUS, NEUROID),
    neuroid_coords: Mapping[str, Sequence[Any]] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Wrap measured data as `Responses`; ``dims`` must start with ``stimulus`` and contain ``neuroid``.

    ``neuroid_coords`` adds per-neuroid labels such as ``subject`` or ``region``. NaN is allowed only
    along ``repetition`` (missing repeats); use :func:`check_finite` where a metric needs finite data.
    """
    array = np.asarray(values)
    dims = tuple(dims)
    if array.ndim != len(dims):
        raise InvalidInputError(f"responses have {array.ndim} dimensions {array.shape} but dims {dims} were given")
    if dims[0] != STIMULUS or NEUROID not in dims:
        raise InvalidInputError(f"responses dims must start with '{STIMULUS}' and contain '{NEUROID}'; got {dims}")
    _check_ids(stimulus_ids, array.shape[0], "responses")
    coords: dict[str, Any] = {STIMULUS_ID: (STIMULUS, [str(s) for s in stimulus_ids])}
    n_neuroids = array.shape[dims.index(NEUROID)]
    for name, labels in (neuroid_coords or {}).items():
        if len(labels) != n_neuroids:
            raise InvalidInputError(f"neuroid coordinate {name!r} has {len(labels)} labels for {n_neuroids} neuroids")
        coords[name] = (NEUROID, list(labels))
    return xr.DataArray(array, dims=dims, coords=coords, attrs=dict(attrs or {}))


def _check_ids(stimulus_ids: Sequence[str], n: int, what: str) -> None:
    if len(stimulus_ids) != n:
        raise InvalidInputError(f"{what}: {len(stimulus_ids)} stimulus ids for {n} rows")
    _check_unique([str(s) for s in stimulus_ids], what)


def _check_unique(ids: list[str], what: str) -> None:
    """Raise naming the repeated ids: rows with the same id cannot be paired with the other array's rows."""
    if len(set(ids)) != len(ids):
        counts = Counter(ids)
        repeated = sorted(s for s, n in counts.items() if n > 1)
        raise InvalidInputError(
            f"{what}: stimulus ids must be unique; {len(repeated)} appear more than once (e.g. {repeated[:3]})"
        )


def stimulus_ids(array: Any, what: str = "labelled array") -> list[str]:
    """The ``stimulus_id`` labels of a labelled array (`Features` or `Responses`), checked: a non-empty
    ``stimulus`` dim with unique ids. Anything else is an error that says how to make the expected layout.

    >>> stimulus_ids(make_features(np.ones((2, 3)), ["a", "b"]))
    ['a', 'b']
    """
    if not isinstance(array, xr.DataArray) or STIMULUS not in array.dims or STIMULUS_ID not in array.coords:
        got = (f"dims {array.dims}" if isinstance(array, xr.DataArray)
               else f"{type(array).__module__}.{type(array).__name__} of shape {getattr(array, 'shape', '?')}")
        raise InvalidInputError(
            f"{what}: expected a labelled xarray.DataArray with dim '{STIMULUS}' and coord '{STIMULUS_ID}' "
            f"(Features: dims ('{STIMULUS}', '{UNIT}'); Responses: dims ('{STIMULUS}', '{NEUROID}'[, ...])); "
            f"got {got}. Wrap arrays with make_features(X, ids) or make_responses(Y, ids)"
        )
    if array.sizes[STIMULUS] == 0:
        raise InvalidInputError(f"{what}: no stimuli (dim '{STIMULUS}' is empty)")
    ids = [str(s) for s in array[STIMULUS_ID].values]
    _check_unique(ids, what)
    return ids


def align(source: xr.DataArray, target: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Reorder ``source`` to the stimulus order of ``target``; both must hold the same, unique stimulus ids
    (different sets are an error naming counts and examples)."""
    src_ids, tgt_ids = stimulus_ids(source, "source"), stimulus_ids(target, "target")
    if src_ids == tgt_ids:
        return source, target
    src_set, tgt_set = set(src_ids), set(tgt_ids)
    if src_set != tgt_set:
        missing = [s for s in tgt_ids if s not in src_set]
        extra = [s for s in src_ids if s not in tgt_set]
        raise InvalidInputError(
            "stimulus ids of source and target differ: "
            f"{len(missing)} target ids missing from source (e.g. {missing[:3]}), "
            f"{len(extra)} source ids not in target (e.g. {extra[:3]})"
        )
    position = {s: i for i, s in enumerate(src_ids)}
    return source.isel({STIMULUS: [position[s] for s in tgt_ids]}), target


def check_finite(array: Any, what: str) -> None:
    """Raise if ``array`` holds NaN or inf, naming how many and where the first one is."""
    values = np.asarray(array.values if isinstance(array, xr.DataArray) else array)
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidInputError(f"{what} contain {int(bad.sum())} NaN/inf values (first at index {first})")


def average_repetitions(array: xr.DataArray) -> xr.DataArray:
    """A 2-D (stimulus × unit/neuroid) array: repetitions averaged (NaN-aware); time-resolved data is refused.

    >>> r = make_responses(np.ones((2, 3, 4)), ["a", "b"], dims=(STIMULUS, NEUROID, REPETITION))
    >>> average_repetitions(r).dims
    ('stimulus', 'neuroid')
    """
    stimulus_ids(array)  # a labelled layout, or an error that says how to make one
    if REPETITION in array.dims:
        array = array.mean(REPETITION, skipna=True, keep_attrs=True)
    if array.ndim != 2:
        raise InvalidInputError(
            f"expected (stimulus, unit) or (stimulus, neuroid[, repetition]) data; got dims {array.dims} "
            f"(time-resolved data: select a time bin or use brainalign.metrics.similarity.temporal_rsa)"
        )
    return array
