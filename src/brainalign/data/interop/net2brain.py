"""Net2Brain's files as brainalign objects: RDM files and folders → `RDM`, feature folders → `Features`.

Net2Brain saves

* RDMs with ``numpy.savez``: one ``.npz`` per layer (key ``arr_0``, a square ``n × n`` RDM) in a folder per
  model, and brain RDMs as one ``.npz`` per ROI holding ``(n_subjects, n, n)``;
* features as one ``.npz`` per stimulus (the file name is the stimulus) with one key per layer.

Its files carry no stimulus ids: RDM rows follow the sorted stimulus file names Net2Brain was given, so pass
the same ids in that order (e.g. a `StimulusSet`'s ids); by default they are the positions ``"0", "1", ...``.
Layers are ordered as Net2Brain orders them (natural sort: ``layer2`` before ``layer10``).

>>> import tempfile, pathlib, numpy as np
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.savez(folder / "layer1.npz", np.array([[0.0, 1, 2], [1, 0, 3], [2, 3, 0]]))
>>> read_rdm_folder(folder, ["a", "b", "c"]).descriptors["layer"].tolist()
['layer1']
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features
from brainalign.data.rdm import RDM

RDM_KEY = "arr_0"  # numpy.savez's name for the first positional array: Net2Brain's RDM key


def read_rdm_file(path: str | os.PathLike, stimulus_ids: Sequence[str] | None = None, *,
                  distance: str = "unknown") -> RDM:
    """One Net2Brain RDM file: a square RDM (one RDM) or a stack ``(n_subjects, n, n)`` (descriptor ``subject``
    0, 1, ...), e.g. ``fmri_IT_RDMs.npz``.

    >>> import tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "fmri_roi.npz"
    >>> np.savez(path, np.zeros((2, 3, 3)) + (1 - np.eye(3)))
    >>> rdm = read_rdm_file(path)
    >>> rdm.n_rdms, rdm.stimulus_ids, rdm.descriptors["subject"].tolist()
    (2, ['0', '1', '2'], [0, 1])
    """
    square = _load_key(Path(path), RDM_KEY)
    if square.ndim not in (2, 3):
        raise InvalidInputError(f"{os.fspath(path)}: {RDM_KEY!r} has shape {square.shape}; expected (n, n) or "
                                "(n_subjects, n, n)")
    ids = _ids(stimulus_ids, square.shape[-1], path)
    descriptors = pd.DataFrame({"subject": range(square.shape[0])}) if square.ndim == 3 else None
    return RDM.from_square(square, ids, distance, descriptors)


def read_rdm_folder(folder: str | os.PathLike, stimulus_ids: Sequence[str] | None = None, *,
                    distance: str = "unknown") -> RDM:
    """A Net2Brain model-RDM folder (one square RDM per layer file) as one `RDM` stack with descriptor ``layer``
    (the file name without ``.npz``), layers in Net2Brain's natural order.

    >>> import tempfile, pathlib, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("layer10", "layer2"):
    ...     np.savez(folder / f"{name}.npz", 1 - np.eye(4))
    >>> read_rdm_folder(folder).descriptors["layer"].tolist()
    ['layer2', 'layer10']
    """
    files = _npz_files(folder)
    rdms = [read_rdm_file(f, stimulus_ids, distance=distance) for f in files]
    for file, rdm in zip(files, rdms, strict=True):
        if rdm.n_rdms != 1:
            raise InvalidInputError(f"{file} holds {rdm.n_rdms} RDMs; a model folder has one square RDM per layer "
                                    "(read subject stacks with read_rdm_file)")
        if rdm.stimulus_ids != rdms[0].stimulus_ids:
            raise InvalidInputError(f"{file} has {rdm.n_stimuli} stimuli; {files[0]} has {rdms[0].n_stimuli}")
    layers = pd.DataFrame({"layer": [f.name[: -len(".npz")] for f in files]})
    return RDM(np.concatenate([r.condensed for r in rdms]), rdms[0].stimulus_ids, distance, layers)


def read_feature_folder(folder: str | os.PathLike, layers: Sequence[str] | None = None, *,
                        model: str | None = None, progress: bool = True) -> dict[str, xr.DataArray]:
    """A Net2Brain feature folder (one ``.npz`` per stimulus, one key per layer) as `Features` per layer.

    Stimulus ids are the file names without ``.npz`` (files in sorted order, as Net2Brain reads them); each
    stimulus's layer output is flattened into units. ``layers`` picks some (default: the keys of the first file).

    >>> import tempfile, pathlib, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for stimulus in ("img1", "img2"):
    ...     np.savez(folder / f"{stimulus}.npz", conv1=np.ones((1, 2, 3)), fc=np.zeros((1, 4)))
    >>> features = read_feature_folder(folder, progress=False)
    >>> {layer: f.shape for layer, f in features.items()}, features["fc"].stimulus_id.values.tolist()
    ({'conv1': (2, 6), 'fc': (2, 4)}, ['img1', 'img2'])
    """
    files = sorted(_npz_files(folder), key=lambda f: f.name)
    if layers is None:
        with np.load(files[0], allow_pickle=False) as first:
            layers = list(first.files)
    values: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    for file in tqdm(files, desc=f"reading {Path(folder).name}", disable=not progress):
        with np.load(file, allow_pickle=False) as stored:
            missing = [layer for layer in layers if layer not in stored.files]
            if missing:
                raise InvalidInputError(f"{file} has no layer(s) {missing}; it holds {stored.files}")
            for layer in layers:
                values[layer].append(stored[layer].ravel())
    ids = [f.name[: -len(".npz")] for f in files]
    out = {}
    for layer, rows in values.items():
        sizes = {row.size for row in rows}
        if len(sizes) > 1:
            raise InvalidInputError(f"layer {layer!r} has outputs of different sizes across stimuli: {sorted(sizes)}")
        out[layer] = make_features(np.stack(rows), ids, layer=layer, model=model)
    return out


def _npz_files(folder: str | os.PathLike) -> list[Path]:
    """The ``.npz`` files of ``folder`` in natural order, or an error naming the folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInputError(f"{os.fspath(folder)} is not a folder")
    files = sorted(folder.glob("*.npz"), key=lambda f: _natural_key(f.name))
    if not files:
        raise InvalidInputError(f"{os.fspath(folder)} holds no .npz files")
    return files


def _natural_key(name: str) -> list:
    """Sort key that orders the digits in a name as numbers (``layer2`` < ``layer10``)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _load_key(path: Path, key: str) -> np.ndarray:
    with np.load(path, allow_pickle=False) as stored:
        if key not in stored.files:
            raise InvalidInputError(f"{os.fspath(path)} has no {key!r} array; it holds {stored.files}")
        return stored[key]


def _ids(stimulus_ids: Sequence[str] | None, n: int, path: str | os.PathLike) -> list[str]:
    if stimulus_ids is None:
        return [str(i) for i in range(n)]
    if len(stimulus_ids) != n:
        raise InvalidInputError(f"{os.fspath(path)} indexes {n} stimuli; {len(stimulus_ids)} stimulus ids were given")
    return [str(s) for s in stimulus_ids]
