"""`FeatureStore`: one layer's features in a chunked HDF5 file, written batch by batch and read lazily.

The file holds ``features`` (stimulus × unit, float32, chunked along stimuli, each chunk checksummed with
HDF5's ``fletcher32`` filter) and ``stimulus_id``. While it is being written it lives at ``<name>.partial.h5``
and its ``rows_done`` attribute counts the leading rows that are complete, so a killed extraction resumes at
that row; `StoreWriter.finish` marks it ``complete``, syncs it to disk and renames it onto the final path
(atomic), so a file under the final name is complete, and :meth:`FeatureStore.verify` proves it is intact.
The partial file is guarded by a file lock (``<name>.lock``): a second process writing the same store waits,
then reuses the finished file; any write error (disk full, ...) raises a `StorageError` naming the file and
never renames a partial file onto the final name. Reading never loads more than one chunk of rows
unless asked to (:meth:`FeatureStore.to_features`); out-of-core metrics read ``store.values`` (an h5py dataset)
directly, e.g. ``brainalign.mapping.online.accumulate_kernel(store.values)`` forms the n × n stimulus kernel
block of columns by block.

>>> import tempfile, pathlib, numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "layer.h5"
>>> with StoreWriter(path, ["a", "b", "c"], chunk_rows=2, layer="conv1") as writer:
...     writer.write(0, np.ones((2, 4), dtype="float32")); writer.commit(2)
...     writer.write(2, np.zeros((1, 4), dtype="float32")); writer.commit(3)
>>> store = FeatureStore(path)
>>> store.shape, [rows.shape for _, rows in store.iter_chunks()]
((3, 4), [(2, 4), (1, 4)])
>>> store.to_features().dims, store.to_features().attrs["layer"]
(('stimulus', 'unit'), 'conv1')
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import filelock
import h5py
import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import UNIT, make_features
from brainalign.core.storage import StorageError

log = logging.getLogger(__name__)
_WRITING: set[str] = set()  # stores this process holds the lock of (a second writer here would wait forever)

CHUNK_BYTES = 4 << 20  # target size of one HDF5 chunk; a chunk spans ``chunk_rows`` stimuli × as many units as fit


def partial_path(path: str | os.PathLike) -> Path:
    """Where the unfinished file of ``path`` lives while it is being written."""
    path = Path(path)
    return path.with_name(path.stem + ".partial" + path.suffix)


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file that guards writing the store ``path`` (and its partial file)."""
    return Path(str(path) + ".lock")


@contextlib.contextmanager
def _storage_errors(path: Path, doing: str, remedy: str) -> Iterator[None]:
    """Turn an OS / HDF5 error while ``doing`` something to ``path`` into a `StorageError` naming both."""
    try:
        yield
    except StorageError:
        raise
    except (OSError, RuntimeError, KeyError) as error:
        raise StorageError(f"could not {doing} {path}: {error}. {remedy}") from error


class FeatureStore:
    """Read access to a finished store file: shape, ids, row chunks, the h5py dataset, or everything as `Features`."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise InvalidInputError(f"feature store {self.path} does not exist")
        self._file: h5py.File | None = None

    @property
    def values(self) -> h5py.Dataset:
        """The (stimulus, unit) float32 dataset, read lazily (the file stays open until :meth:`close`)."""
        return self._h5()["features"]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.values.shape)

    @property
    def attrs(self) -> dict[str, Any]:
        """Descriptive attributes: ``model``, ``layer`` and, for concatenated stores, ``layer_blocks``."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self._h5().attrs.items()}

    @property
    def stimulus_ids(self) -> list[str]:
        return [s.decode() if isinstance(s, bytes) else str(s) for s in self._h5()["stimulus_id"][()]]

    def iter_chunks(self, chunk_rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(first_row, rows)`` blocks of stimuli in order; ``chunk_rows`` defaults to the file's chunk height."""
        data = self.values
        size = chunk_rows or (data.chunks[0] if data.chunks else data.shape[0]) or 1
        for start in range(0, data.shape[0], size):
            yield start, data[start:start + size]

    def to_features(self) -> xr.DataArray:
        """All rows in memory as `Features`; concatenated stores get a ``layer`` coordinate per unit."""
        attrs = self.attrs
        features = make_features(self.values[()], self.stimulus_ids, layer=attrs.get("layer"), model=attrs.get("model"))
        if "layer_blocks" in attrs:
            names, sizes = attrs["layer_names"], attrs["layer_blocks"]
            labels = [n for n, s in zip(names, sizes, strict=True) for _ in range(s)]
            features = features.assign_coords(layer=(UNIT, labels))
        return features

    def verify(self) -> None:
        """Check the file is complete and intact: the completeness marker, consistent shapes, and every chunk
        read back against its fletcher32 checksum; a `StorageError` names the file and what to do otherwise.

        >>> import tempfile, pathlib, numpy as np
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.h5"
        >>> with StoreWriter(path, ["a"]) as writer:
        ...     writer.write(0, np.ones((1, 2))); writer.commit(1)
        >>> FeatureStore(path).verify()
        >>> _ = path.write_bytes(path.read_bytes()[:100])
        >>> FeatureStore(path).verify()
        Traceback (most recent call last):
        ...
        brainalign.core.storage.StorageError: feature store ... is damaged or truncated ...
        """
        remedy = f"Delete {self.path} and run again to recompute it."
        try:
            f = self._h5()
            problem = None
            if not f.attrs.get("complete", False):
                problem = "has no completeness marker (unfinished, or written by an older brainalign)"
            elif "features" not in f or "stimulus_id" not in f:
                problem = "lacks its features or stimulus_id dataset"
            elif f["features"].shape[0] != f["stimulus_id"].shape[0]:
                problem = f"holds {f['features'].shape[0]} rows for {f['stimulus_id'].shape[0]} stimulus ids"
            else:
                for _ in self.iter_chunks():  # HDF5 checks each chunk's fletcher32 sum as it reads it
                    pass
        except (OSError, RuntimeError, KeyError) as error:
            self.close()
            raise StorageError(f"feature store {self.path} is damaged or truncated ({error}). {remedy}") from error
        if problem is not None:
            self.close()
            raise StorageError(f"feature store {self.path} {problem}. {remedy}")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.path)!r})"

    def _h5(self) -> h5py.File:
        """The file, opened read-only on first use."""
        if self._file is None:
            remedy = f"Delete {self.path} and run again to recompute it."
            with _storage_errors(self.path, "open the feature store", remedy):
                self._file = h5py.File(self.path, "r")
        return self._file


class StoreWriter:
    """Write one layer's rows into ``<path>.partial.h5`` (resuming it if present), then rename it onto ``path``.

    The dataset is created at the first :meth:`write` (the number of units is known only then). Rows below
    :attr:`rows_done` are complete and never rewritten; :meth:`commit` advances it after a batch has been
    written for every layer. ``attrs`` (strings, numbers, lists) are stored on the file. The writer holds the
    store's file lock until it is finished or closed: a second writer of the same store waits for it, and when
    the first finished, it has nothing left to write (:attr:`rows_done` is every row) and returns that store.
    """

    def __init__(self, path: str | os.PathLike, stimulus_ids: Sequence[str], chunk_rows: int = 32, **attrs: Any):
        self.path, self.partial = Path(path), partial_path(path)
        self.stimulus_ids = [str(s) for s in stimulus_ids]
        self.chunk_rows = max(1, int(chunk_rows))
        self.attrs = {k: v for k, v in attrs.items() if v is not None}
        remedy = ("Make the folder writable, or point BRAINALIGN_CACHE (or the cache directory you passed) "
                  "to a writable folder with free space.")
        with _storage_errors(self.path.parent, "create or lock files in the cache folder", remedy):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = filelock.FileLock(lock_path(self.path))
            try:
                self._lock.acquire(timeout=0)
            except filelock.Timeout:
                if str(self.path) in _WRITING:
                    raise InvalidInputError(f"this process is already writing {self.path}; finish or close that "
                                            "StoreWriter first") from None
                log.warning("waiting for another process that is writing %s", self.path)
                self._lock.acquire()
        _WRITING.add(str(self.path))
        self._file: h5py.File | None = None
        self._finished: FeatureStore | None = self._already_finished()
        if self._finished is None:
            try:
                with _storage_errors(self.partial, "open the partial feature file", remedy):
                    self._file = self._open_partial()
            except StorageError:
                self._release()
                raise

    @property
    def rows_done(self) -> int:
        """Leading rows already complete on disk."""
        if self._finished is not None:
            return len(self.stimulus_ids)
        return int(self._file.attrs.get("rows_done", 0))

    def write(self, start: int, values: np.ndarray) -> None:
        """Write rows ``start .. start + len(values)`` (those below :attr:`rows_done` are skipped)."""
        values = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
        skip = max(0, self.rows_done - start)
        if skip >= len(values):
            return
        with self._write_errors():
            if "features" not in self._file:
                self._create_dataset(values.shape[1])
            data = self._file["features"]
            if values.shape[1] != data.shape[1]:
                raise InvalidInputError(
                    f"{self.partial}: rows have {values.shape[1]} units; the store has {data.shape[1]}")
            data[start + skip:start + len(values)] = values[skip:]

    def commit(self, stop: int) -> None:
        """Mark rows ``0 .. stop`` complete and flush, so a killed run resumes at ``stop``."""
        if self._finished is not None:
            return
        with self._write_errors():
            self._file.attrs["rows_done"] = max(self.rows_done, int(stop))
            self._file.flush()

    def finish(self) -> FeatureStore:
        """Check every row is complete, mark the file complete, sync it, rename it onto the final path and release
        the lock; returns the finished store. On any error the partial file is kept and never renamed."""
        if self._finished is not None:
            self._release()
            return self._finished
        n = len(self.stimulus_ids)
        if self.rows_done < n or "features" not in self._file:
            raise InvalidInputError(f"{self.partial}: only {self.rows_done} of {n} rows are written; cannot finish")
        with self._write_errors():
            self._file.attrs["complete"] = True
            del self._file.attrs["rows_done"]
            self._file.close()
            with open(self.partial, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(self.partial, self.path)
        self._release()
        return FeatureStore(self.path)

    def close(self) -> None:
        """Close the partial file, keeping it for a later resume, and release the lock."""
        try:
            if self._file is not None and self._file.id.valid:
                self._file.close()
        finally:
            self._release()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None and self._lock.is_locked:
            self.finish()
        else:
            self.close()

    def _release(self) -> None:
        _WRITING.discard(str(self.path))
        self._lock.release()

    @contextlib.contextmanager
    def _write_errors(self) -> Iterator[None]:
        """Any write error closes the partial file (keeping its committed rows) and raises a `StorageError`."""
        try:
            with _storage_errors(self.partial, "write the feature file",
                                 f"Its first {self._rows_committed()} rows are kept for a resume; free disk space "
                                 "(or point BRAINALIGN_CACHE to another disk) and run again."):
                yield
        except StorageError:
            self.close()
            raise

    def _rows_committed(self) -> int:
        try:
            return self.rows_done
        except (OSError, RuntimeError, KeyError, ValueError):
            return 0

    def _already_finished(self) -> FeatureStore | None:
        """The finished store when another writer completed it (for these stimuli) while this one waited."""
        if not self.path.is_file():
            return None
        store = FeatureStore(self.path)
        try:
            store.verify()
        except StorageError:
            return None
        ids = store.stimulus_ids
        store.close()
        return store if ids == self.stimulus_ids else None

    def _open_partial(self) -> h5py.File:
        """The partial file to resume when it belongs to these stimuli, else a fresh one."""
        if self.partial.is_file():
            try:
                f = h5py.File(self.partial, "r+")
                ids = [s.decode() if isinstance(s, bytes) else str(s) for s in f["stimulus_id"][()]]
                if ids == self.stimulus_ids:
                    return f
                f.close()
            except (OSError, KeyError):  # a run killed inside an HDF5 write may leave an unreadable file
                pass
            self.partial.unlink()
        f = h5py.File(self.partial, "w")
        f.create_dataset("stimulus_id", data=np.asarray(self.stimulus_ids, dtype=h5py.string_dtype()))
        f.attrs.update(self.attrs)
        f.attrs["rows_done"] = 0
        return f

    def _create_dataset(self, n_units: int) -> None:
        """Chunks of ``chunk_rows`` stimuli × up to ``CHUNK_BYTES`` of units, each with a fletcher32 checksum: a
        batch fills whole chunks when the batch size equals ``chunk_rows``, and column blocks read whole chunks."""
        rows = min(self.chunk_rows, len(self.stimulus_ids))
        cols = max(1, min(n_units, CHUNK_BYTES // (4 * rows)))
        self._file.create_dataset("features", shape=(len(self.stimulus_ids), n_units), dtype="float32",
                                  chunks=(rows, cols), fletcher32=True)


def concatenate_stores(stores: Sequence[FeatureStore], path: str | os.PathLike, chunk_rows: int = 256) -> FeatureStore:
    """Join several layers' stores (same stimuli, same order) unit-wise into one store, ``chunk_rows`` at a time.

    The result records each layer's name and width, so `FeatureStore.to_features` labels every unit with its
    layer (the layout of ``brainalign.mapping.reduction.concatenate_layers``).
    """
    if not stores:
        raise InvalidInputError("concatenate_stores needs at least one store")
    ids = stores[0].stimulus_ids
    for store in stores[1:]:
        if store.stimulus_ids != ids:
            raise InvalidInputError(f"{store} holds other stimuli (or another order) than {stores[0]}")
    names = [str(s.attrs.get("layer", f"layer{i}")) for i, s in enumerate(stores)]
    with StoreWriter(path, ids, chunk_rows=chunk_rows, layer="+".join(names), model=stores[0].attrs.get("model", ""),
                     layer_names=names, layer_blocks=[s.shape[1] for s in stores]) as writer:
        for start in range(writer.rows_done, len(ids), chunk_rows):
            writer.write(start, np.concatenate([s.values[start:start + chunk_rows] for s in stores], axis=1))
            writer.commit(min(start + chunk_rows, len(ids)))
    return FeatureStore(path)
