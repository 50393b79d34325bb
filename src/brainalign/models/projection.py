"""`Projection`: reduce every layer's features on the fly during extraction, with a reducer fitted on a stimulus
set of the user's choice (Brain-Score fits PCA-1000 on 1,000 ImageNet images; any `StimulusSet` works, e.g.
``StimulusSet.from_folder("imagenet_val_1000")``).

The models layer does not import ``brainalign.metrics`` (it sits above models): the reducer is any object
with the sklearn transformer protocol — ``fit`` / ``transform``, and ``partial_fit`` when it can learn chunk by
chunk — made by a zero-argument factory, typically ``lambda: IncrementalPCA(1000)`` or
``lambda: SparseRandomProjection(1000)`` from ``brainalign.mapping.reduction`` (sklearn's reducers work too).
The projection's identity — reducer class and parameters, fit stimuli, fit chunking, and the model and layer
whose features it is fitted on — is part of the feature cache key, and fitted reducers are cached as pickles.

>>> from sklearn.decomposition import IncrementalPCA
>>> from brainalign.data.stimuli import StimulusSet
>>> fit_set = StimulusSet("fit", ["a", "b"], texts=["x", "y"], modality="text")
>>> describe_reducer(IncrementalPCA(2))["class"]
'sklearn.decomposition._incremental_pca.IncrementalPCA'
>>> Projection(lambda: IncrementalPCA(2), fit_set).fit_chunk is None
True
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.core.backend import to_numpy
from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import atomic_path, content_hash
from brainalign.models.feature_cache import feature_key

_DIGEST_BYTES = 32  # a cached reducer file is sha256(pickle) + pickle


def describe_reducer(reducer: Any) -> dict[str, Any]:
    """Class path and constructor parameters of an unfitted reducer (sklearn's ``get_params`` when it has one,
    else its public attributes not ending in ``_``, the sklearn convention for fitted state)."""
    if hasattr(reducer, "get_params"):
        params = reducer.get_params()
    else:
        params = {k: v for k, v in vars(reducer).items() if not k.startswith("_") and not k.endswith("_")}
    return {"class": f"{type(reducer).__module__}.{type(reducer).__qualname__}", "params": params}


@dataclass
class Projection:
    """A reducer made by ``reducer()`` per layer, fitted on that layer's features of ``fit_stimuli``.

    Reducers with ``partial_fit`` learn from chunks of ``fit_chunk`` rows (default: all fit stimuli in one
    call, which for ``IncrementalPCA`` is exact PCA); a chunk must hold at least ``n_components`` rows.
    Reducers without it get one ``fit`` on all fit rows — keep ``fit_stimuli`` small for data-independent
    reducers such as sparse random projections, which only need the number of units.
    """

    reducer: Callable[[], Any]
    fit_stimuli: Any
    fit_chunk: int | None = None

    def __post_init__(self) -> None:
        if len(self.fit_stimuli) == 0:
            raise InvalidInputError("a Projection needs at least one fit stimulus")
        if self.fit_chunk is not None and self.fit_chunk < 1:
            raise InvalidInputError(f"fit_chunk must be at least 1; got {self.fit_chunk}")
        reducer = self.reducer()
        for method in ("fit", "transform"):
            if not callable(getattr(reducer, method, None)):
                raise InvalidInputError(f"reducer {type(reducer).__name__} has no {method}() method; "
                                        "pass a factory of sklearn-style transformers")

    def identity(self, model: Any, layer: str) -> str:
        """The content key of this projection fitted on ``layer`` of a `LoadedModel`."""
        return content_hash(feature_key(model, layer, self.fit_stimuli), describe_reducer(self.reducer()),
                            self.fit_chunk)


class ReducerFit:
    """Fit one reducer from batches streamed by the extractor (the row-sink protocol: ``rows_done``,
    ``write(start, rows)``, ``commit(stop)``), then :meth:`finish` returns it fitted.

    Rows are buffered until a chunk is full; the last chunk absorbs the remainder so no chunk is short.
    """

    rows_done = 0

    def __init__(self, reducer: Any, n_rows: int, chunk_rows: int | None = None):
        self.reducer, self.n_rows = reducer, int(n_rows)
        incremental = callable(getattr(reducer, "partial_fit", None))
        self.chunk_rows = min(chunk_rows or self.n_rows, self.n_rows) if incremental else self.n_rows
        self._learn = reducer.partial_fit if incremental else reducer.fit
        self._buffer: list[np.ndarray] = []

    def write(self, start: int, values: np.ndarray) -> None:
        self._buffer.append(np.array(values, dtype=np.float32))  # a copy: in-place layers reuse activation memory

    def commit(self, stop: int) -> None:
        buffered = sum(len(b) for b in self._buffer)
        if buffered >= self.chunk_rows and self.n_rows - stop >= self.chunk_rows:
            self._learn_buffer()

    def finish(self) -> Any:
        if self._buffer:
            self._learn_buffer()
        return self.reducer

    def _learn_buffer(self) -> None:
        rows = np.concatenate(self._buffer)
        self._buffer = []
        self._learn(rows)


def project(reducer: Any, values: np.ndarray) -> np.ndarray:
    """``reducer.transform(values)`` as a float32 numpy array (torch results are copied to the host)."""
    return np.asarray(to_numpy(reducer.transform(values)), dtype=np.float32)


def load_fitted(directory: str | os.PathLike, key: str) -> Any | None:
    """The fitted reducer cached under ``key``, or None; a damaged or truncated file (its sha256 does not match)
    is named in a warning, deleted and reported as None, so the reducer is fitted again.

    >>> import tempfile
    >>> from sklearn.decomposition import PCA
    >>> folder = tempfile.mkdtemp()
    >>> save_fitted(folder, "k", PCA(n_components=2))
    >>> load_fitted(folder, "k").n_components, load_fitted(folder, "missing")
    (2, None)
    """
    path = Path(directory) / f"{key}.pkl"
    if not path.is_file():
        return None
    content = path.read_bytes()
    digest, payload = content[:_DIGEST_BYTES], content[_DIGEST_BYTES:]
    if hashlib.sha256(payload).digest() != digest:
        warnings.warn(f"fitted projection {path} is damaged or truncated (checksum mismatch); deleting it, "
                      "it will be fitted again", stacklevel=2)
        path.unlink(missing_ok=True)
        return None
    return pickle.loads(payload)


def save_fitted(directory: str | os.PathLike, key: str, reducer: Any) -> None:
    """Cache a fitted reducer under ``key`` (atomically), preceded by the sha256 of its pickle."""
    payload = pickle.dumps(reducer, protocol=pickle.HIGHEST_PROTOCOL)
    with atomic_path(Path(directory) / f"{key}.pkl") as tmp:
        tmp.write_bytes(hashlib.sha256(payload).digest() + payload)
