"""On-disk cache of `Features`: one chunked HDF5 `FeatureStore` per (model, weights, layer, preprocessing,
stimuli[, projection]).

The key hashes everything that changes the numbers, so a stale file is never reused. Files are written batch
by batch into ``<key>.partial.h5`` and renamed onto ``<key>.h5`` when complete, so a killed run never leaves a
file that looks finished, and the next run resumes the partial one. A cached file is verified (completeness
marker, chunk checksums) the first time a process opens it; a damaged, truncated or unfinished one is named in
a warning, deleted and recomputed.

>>> import tempfile, numpy as np
>>> cache = FeatureCache(tempfile.mkdtemp())
>>> key = content_hash("demo")
>>> cache.load(key) is None
True
>>> cache.save(key, np.ones((2, 3), dtype="float32"), ["a", "b"], model="m", layer="l")
>>> cache.load(key).shape, cache.open(key).stimulus_ids
((2, 3), ['a', 'b'])
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brainalign.core.config import cache_dir
from brainalign.core.storage import StorageError, content_hash, stat_key
from brainalign.models.feature_store import FeatureStore, StoreWriter


def feature_key(model: Any, layer: str, stimuli: Any, projection: str | None = None,
                fingerprint: str | None = None) -> str:
    """The cache key of one layer's features of a `LoadedModel` on a stimulus set.

    Hashes model id, source and architecture, weights checksum, layer, every preprocessing
    parameter, the stimulus fingerprint and ids, and the torch version (random inits and kernels
    may change with it); ``projection`` is the identity of a reduction applied during extraction
    (see ``brainalign.models.projection``); ``fingerprint`` is ``stimuli.fingerprint()`` when the caller
    already has it (it hashes every stimulus file, so compute it once per stimulus set).
    """
    card = model.card
    parts = [card.identifier, card.source, card.architecture, model.weights_checksum, layer,
             model.preprocessing.as_dict(), fingerprint or stimuli.fingerprint(), list(stimuli.stimulus_ids),
             torch.__version__]
    return content_hash(*parts, *([projection] if projection is not None else []))


_VERIFIED: set[tuple[str, int, int, int, int, int]] = set()  # cache files verified by this process, by inode and times


class FeatureCache:
    """HDF5 files named ``<key>.h5`` in ``directory`` (default: ``cache_dir("features")``)."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else cache_dir("features")

    def path(self, key: str) -> Path:
        """Where the finished features of ``key`` live."""
        return self.directory / f"{key}.h5"

    def open(self, key: str) -> FeatureStore | None:
        """The finished store of ``key`` (read lazily), or None on a miss; verified once per process, and a
        damaged file is reported, deleted and treated as a miss (so it is recomputed)."""
        path = self.path(key)
        if not path.is_file():
            return None
        store = FeatureStore(path)
        seen = stat_key(path)
        if seen not in _VERIFIED:
            try:
                store.verify()
            except StorageError as error:
                warnings.warn(f"{error} Deleting it; it will be recomputed.", stacklevel=2)
                path.unlink(missing_ok=True)
                return None
            _VERIFIED.add(seen)
        return store

    def load(self, key: str) -> np.ndarray | None:
        """The cached (stimulus, unit) float32 array, or None on a miss."""
        store = self.open(key)
        if store is None:
            return None
        with store:
            return store.values[()]

    def writer(self, key: str, stimulus_ids: Sequence[str], chunk_rows: int = 32, **attrs: Any) -> StoreWriter:
        """A resumable writer for ``key`` (continues an unfinished ``<key>.partial.h5`` of the same stimuli)."""
        return StoreWriter(self.path(key), stimulus_ids, chunk_rows=chunk_rows, **attrs)

    def save(self, key: str, values: np.ndarray, stimulus_ids: Sequence[str], **attrs: str) -> None:
        """Write ``values`` (with the stimulus ids and descriptive ``attrs``) atomically under ``key``."""
        with self.writer(key, stimulus_ids, chunk_rows=len(values), **attrs) as writer:
            writer.write(0, values)
            writer.commit(len(values))
