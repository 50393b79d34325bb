"""thingsvision's saved features ↔ `Features`.

thingsvision (``thingsvision.utils.storing.save_features``) writes one layer's features into a folder as
``features.npy``, ``features.txt`` (``numpy.savetxt``), ``features.hdf5`` (dataset ``features``) or ``features.mat``
(key ``features``, or one key per image when ``file_names.txt`` is present), or, when memory runs out, as
numbered splits ``features_01.npy`` ... (hdf5: datasets ``features_01`` ... in ``features.hdf5``). Its data loader
writes the image files in extraction order to ``file_names.txt``; without their image suffix, prefixed
``<identifier>/`` as `StimulusSet.from_folder` does, they are the stimulus ids unless ``stimulus_ids`` are given.
:func:`write_thingsvision_features` writes `Features` in the same layout (ids as ``file_names.txt``).

>>> import tempfile, pathlib, numpy as np
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.save(folder / "features.npy", np.eye(3))
>>> _ = (folder / "file_names.txt").write_text("cat.jpg\\ndog.jpg\\ncar.jpg\\n")
>>> f = read_thingsvision_features(folder, identifier="pets", layer="fc")
>>> f.stimulus_id.values.tolist(), f.shape, f.attrs["layer"]
(['pets/cat', 'pets/dog', 'pets/car'], (3, 3), 'fc')
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features
from brainalign.core.labels import stimulus_ids as labelled_ids
from brainalign.core.storage import atomic_path
from brainalign.data.stimuli import IMAGE_SUFFIXES

FORMATS = ("npy", "txt", "hdf5", "mat")
_SPLIT = re.compile(r"features_(\d+)")
_SUFFIX = re.compile(r"\.(" + "|".join(s.lstrip(".") for s in IMAGE_SUFFIXES) + r")$", re.IGNORECASE)


def read_thingsvision_features(folder: str | os.PathLike, stimulus_ids: Sequence[str] | None = None, *,
                               identifier: str | None = None, layer: str | None = None,
                               model: str | None = None) -> xr.DataArray:
    """The `Features` (stimulus × unit; extra dims flattened) thingsvision saved in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInputError(f"thingsvision feature folder {folder} does not exist")
    names = _file_names(folder)
    values = _read(folder, names)
    if stimulus_ids is None:
        if names is None:
            stimulus_ids = [str(i) for i in range(len(values))]
        else:
            stems = [_SUFFIX.sub("", n) for n in names]
            stimulus_ids = [f"{identifier}/{stem}" if identifier else stem for stem in stems]
    if len(stimulus_ids) != len(values):
        raise InvalidInputError(f"{folder}: {len(values)} feature rows (shape {values.shape}) but {len(stimulus_ids)} "
                                "stimulus ids" + (" in file_names.txt" if names is not None else ""))
    return make_features(values, stimulus_ids, layer=layer, model=model)


def write_thingsvision_features(features: xr.DataArray, folder: str | os.PathLike, file_format: str = "npy") -> Path:
    """Write `Features` in thingsvision's layout: ``features.<file_format>`` (npy, txt or hdf5) and the stimulus ids
    as ``file_names.txt``, so thingsvision's tools (and :func:`read_thingsvision_features`) read them back."""
    if file_format not in ("npy", "txt", "hdf5"):
        raise InvalidInputError(f"file_format {file_format!r}; valid: npy, txt, hdf5")
    values, ids = np.asarray(features.values), labelled_ids(features, "features")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"features.{file_format}"
    with atomic_path(path) as tmp:
        if file_format == "npy":
            with tmp.open("wb") as handle:
                np.save(handle, values)
        elif file_format == "txt":
            np.savetxt(tmp, values)
        else:
            import h5py

            with h5py.File(tmp, "w") as h5:
                h5.create_dataset("features", data=values)
    with atomic_path(folder / "file_names.txt") as tmp:
        tmp.write_text("".join(f"{s}\n" for s in ids))
    return path


def _file_names(folder: Path) -> list[str] | None:
    path = folder / "file_names.txt"
    if not path.is_file():
        return None
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _read(folder: Path, names: list[str] | None) -> np.ndarray:
    for fmt in FORMATS:
        whole = folder / f"features.{fmt}"
        splits = sorted(folder.glob(f"features_*.{fmt}"), key=lambda p: int(_SPLIT.fullmatch(p.stem)[1])
                        if _SPLIT.fullmatch(p.stem) else -1)
        if fmt == "hdf5" and whole.is_file():
            import h5py

            with h5py.File(whole, "r") as h5:
                keys = ["features"] if "features" in h5 else sorted(k for k in h5 if _SPLIT.fullmatch(k))
                if not keys:
                    raise InvalidInputError(f"{whole} holds {sorted(h5)}; expected 'features' or 'features_01'...")
                return np.concatenate([np.asarray(h5[k]) for k in keys])
        if whole.is_file():
            return _load(whole, fmt, names)
        if splits:
            return np.concatenate([_load(p, fmt, None) for p in splits])
    found = sorted(p.name for p in folder.iterdir())
    raise InvalidInputError(f"no thingsvision features in {folder} (looked for features.{{{','.join(FORMATS)}}} and "
                            f"features_NN splits; found {found[:8]}); features.pt is not read (it needs pickle)")


def _load(path: Path, fmt: str, names: list[str] | None) -> np.ndarray:
    if fmt == "npy":
        return np.load(path, allow_pickle=False)
    if fmt == "txt":
        return np.atleast_2d(np.loadtxt(path))
    import scipy.io

    content = scipy.io.loadmat(path)
    if "features" in content:
        return np.asarray(content["features"])
    keys = [re.sub(r"\.[^.]+$", "", n) for n in names or []]
    missing = [k for k in keys if k not in content]
    if not keys or missing:
        raise InvalidInputError(f"{path}: no 'features' key and no key per file name (missing {missing[:3]})")
    return np.stack([np.asarray(content[k]).reshape(-1) for k in keys])
