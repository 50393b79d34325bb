"""On-disk cache of `Features`: one HDF5 file per (model, weights, layer, preprocessing, stimuli).

The key hashes everything that changes the numbers, so a stale file is never reused; files are
written atomically, so a killed run never leaves half a file.

>>> import tempfile, numpy as np
>>> cache = FeatureCache(tempfile.mkdtemp())
>>> key = content_hash("demo")
>>> cache.load(key) is None
True
>>> cache.save(key, np.ones((2, 3), dtype="float32"), ["a", "b"], model="m", layer="l")
>>> cache.load(key).shape
(2, 3)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from brainalign.core.config import cache_dir
from brainalign.core.storage import atomic_path, content_hash


def feature_key(model: Any, layer: str, stimuli: Any) -> str:
    """The cache key of one layer's features of a `LoadedModel` on a stimulus set.

    Hashes model id, source and architecture, weights checksum, layer, every preprocessing
    parameter, the stimulus fingerprint and ids, and the torch version (random inits and kernels
    may change with it).
    """
    card = model.card
    return content_hash(
        card.identifier, card.source, card.architecture, model.weights_checksum, layer,
        model.preprocessing.as_dict(), stimuli.fingerprint(), list(stimuli.stimulus_ids), torch.__version__,
    )


class FeatureCache:
    """HDF5 files named ``<key>.h5`` in ``directory`` (default: ``cache_dir("features")``)."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else cache_dir("features")

    def path(self, key: str) -> Path:
        """Where the features of ``key`` live."""
        return self.directory / f"{key}.h5"

    def load(self, key: str) -> np.ndarray | None:
        """The cached (stimulus, unit) float32 array, or None on a miss."""
        path = self.path(key)
        if not path.is_file():
            return None
        with h5py.File(path, "r") as f:
            return f["features"][()]

    def save(self, key: str, values: np.ndarray, stimulus_ids: Sequence[str], **attrs: str) -> None:
        """Write ``values`` (with the stimulus ids and descriptive ``attrs``) atomically under ``key``."""
        with atomic_path(self.path(key)) as tmp:
            with h5py.File(tmp, "w") as f:
                f.create_dataset("features", data=np.asarray(values, dtype=np.float32))
                f.create_dataset("stimulus_id", data=np.asarray(list(stimulus_ids), dtype=h5py.string_dtype()))
                f.attrs.update(attrs)
