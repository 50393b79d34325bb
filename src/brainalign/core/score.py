"""`Score`: one number plus everything needed to trust and reproduce it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import atomic_path

_SCALARS = ("value", "raw", "ceiling", "error")
_META_KEY = "__score__"


@dataclass
class Score:
    """A benchmark or metric result.

    ``value`` is what users compare (ceiling-normalised when a ceiling applies), ``raw`` the metric
    before normalisation, ``ceiling`` the reliability bound it was divided by, ``error`` the
    spread across splits (SEM) or subjects. ``per_neuroid`` is an `xarray.DataArray` over ``neuroid``
    keeping the responses' neuroid coordinates (``neuroid_id``, ``subject``, ``region``, ...) when the
    metric had labelled responses. Scores compare with ``==`` (NaN equals NaN, arrays element-wise) and
    round-trip through :meth:`save` / :meth:`load` (an ``.npz`` file, no pickle).

    >>> s = Score(value=0.5, raw=0.25, ceiling=0.5, error=0.01, provenance={"metric": "ridge"})
    >>> round(s.value, 2), s.as_row()["ceiling"]
    (0.5, 0.5)
    >>> s
    Score(value=0.5, raw=0.25, ceiling=0.5, error=0.01, metric='ridge')
    """

    value: float
    raw: float = math.nan
    ceiling: float = math.nan
    error: float = math.nan
    per_neuroid: np.ndarray | xr.DataArray | None = None
    per_split: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.value = float(self.value)
        self.raw = float(self.value if math.isnan(self.raw) and math.isnan(self.ceiling) else self.raw)
        self.ceiling = float(self.ceiling)
        self.error = float(self.error)

    def as_row(self) -> dict[str, Any]:
        """Scalar fields and provenance as one flat dict (a row of a results table)."""
        row: dict[str, Any] = {k: getattr(self, k) for k in _SCALARS}
        row.update({k: v for k, v in self.provenance.items() if np.isscalar(v) or v is None})
        return row

    def __float__(self) -> float:
        return self.value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Score):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content

    def __repr__(self) -> str:
        parts = [f"{k}={getattr(self, k):.4g}" for k in _SCALARS if not math.isnan(getattr(self, k))]
        parts += [f"{k}={tuple(np.shape(getattr(self, k)))}" for k in ("per_neuroid", "per_split")
                  if getattr(self, k) is not None]
        parts += [f"{k}={self.provenance[k]!r}" for k in ("metric", "model", "layer", "benchmark")
                  if self.provenance.get(k) is not None]
        return f"Score({', '.join(parts)})"

    def save(self, path: str | Path) -> Path:
        """Write the score to ``path`` (``.npz``: arrays as arrays, everything else as JSON; no pickle).

        >>> import tempfile, os
        >>> s = Score(0.5, per_split=np.array([0.4, 0.6]), extra={"n_splits": 2})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     Score.load(s.save(os.path.join(d, "s.npz"))) == s
        True
        """
        path = Path(path)
        arrays: dict[str, np.ndarray] = {}
        meta = {k: getattr(self, k) for k in _SCALARS}
        meta["per_neuroid"] = _encode(self.per_neuroid, "per_neuroid", arrays)
        meta["per_split"] = _encode(self.per_split, "per_split", arrays)
        meta["extra"] = {k: _encode(v, f"extra.{k}", arrays) for k, v in self.extra.items()}
        meta["provenance"] = {k: _encode(v, f"provenance.{k}", arrays) for k, v in self.provenance.items()}
        arrays[_META_KEY] = np.asarray(json.dumps(meta))
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Score:
        """A score written by :meth:`save` (see there for an example)."""
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        if _META_KEY not in arrays:
            raise InvalidInputError(f"{path} is not a saved Score (no {_META_KEY!r} entry)")
        meta = json.loads(str(arrays[_META_KEY]))
        return cls(**{k: meta[k] for k in _SCALARS},
                   per_neuroid=_decode(meta["per_neuroid"], arrays), per_split=_decode(meta["per_split"], arrays),
                   extra={k: _decode(v, arrays) for k, v in meta["extra"].items()},
                   provenance={k: _decode(v, arrays) for k, v in meta["provenance"].items()})


def _same(a: Any, b: Any) -> bool:
    """Content equality for score fields: NaN equals NaN, arrays element-wise, labelled arrays with their coords."""
    if isinstance(a, xr.DataArray) or isinstance(b, xr.DataArray):
        return isinstance(a, xr.DataArray) and isinstance(b, xr.DataArray) and a.identical(b)
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        numeric = a.dtype.kind in "fc" and b.dtype.kind in "fc"
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=numeric))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _storable(values: Any) -> np.ndarray:
    """A numpy array that ``np.load`` reads without pickle (object arrays of labels become strings)."""
    array = np.asarray(values)
    return array.astype(str) if array.dtype == object else array


def _encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """JSON for ``value``; arrays are stored in ``arrays`` under ``key`` and referenced from the JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, xr.DataArray):
        arrays[key] = _storable(value.values)
        coords = {}
        for name, coord in value.coords.items():
            arrays[f"{key}.coord.{name}"] = _storable(coord.values)
            coords[name] = list(coord.dims)
        return {"__dataarray__": key, "dims": list(value.dims), "coords": coords, "name": value.name}
    if isinstance(value, (np.ndarray, list, tuple)) and np.asarray(value).dtype != object:
        arrays[key] = np.asarray(value)
        return {"__array__": key}
    if isinstance(value, dict):
        return {"__dict__": {str(k): _encode(v, f"{key}.{k}", arrays) for k, v in value.items()}}
    raise InvalidInputError(f"Score field {key} holds a {type(value).__name__}, which cannot be saved; valid: "
                            "numbers, strings, None, arrays, labelled arrays and dicts of those")


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__dataarray__" in value:
        key = value["__dataarray__"]
        coords = {name: (tuple(dims), arrays[f"{key}.coord.{name}"]) for name, dims in value["coords"].items()}
        return xr.DataArray(arrays[key], dims=value["dims"], coords=coords, name=value["name"])
    return {k: _decode(v, arrays) for k, v in value["__dict__"].items()}
