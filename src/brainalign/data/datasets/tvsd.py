"""TVSD, the THINGS Ventral Stream Spiking Dataset (Papale et al. 2025): multi-unit activity of 1,024 electrodes
(16 Utah arrays) in V1, V4 and IT of two macaques to 22,248 THINGS training images (one trial each) and 100 test
images (30 repetitions).

Files (the GIN repository ``paolo_papale/TVSD``, under ``tvsd/``; MATLAB v7.3, read with h5py)::

    monkeyN/THINGS_normMUA.mat       train_MUA (images × electrodes), test_MUA_reps (30 × 100 × electrodes): MUA
                                     normalised per electrode and day, averaged over the region's window
                                     (V1 25-125 ms, V4 50-150 ms, IT 75-175 ms after onset)
    monkeyN/_logs/things_imgs.mat    train_imgs/things_path, test_imgs/things_path: "<concept>/<file>.jpg"

Electrodes by region (``norm_MUA.m``): monkey N: V1 1-512, V4 513-768, IT 769-1024; monkey F: V1 1-512,
IT 513-832, V4 833-1024. Images: the THINGS database (``object_images/`` beside the files, as for THINGS-fMRI).
The time-resolved trials (``THINGS_MUA_trials.mat``, ~58 GB per monkey) are not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, make_responses
from brainalign.data.dataset import Dataset
from brainalign.data.datasets.things_fmri import things_image_root
from brainalign.data.fetch import RemoteFile, fetch
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet
from brainalign.data.trials import trials_to_repetitions

GIN = "https://gin.g-node.org/paolo_papale/TVSD/raw/master/"
MONKEYS = ("monkeyN", "monkeyF")
SPLITS = ("test", "train")
ELECTRODES = {  # region → 0-based electrode range, per monkey
    "monkeyN": {"V1": (0, 512), "V4": (512, 768), "IT": (768, 1024)},
    "monkeyF": {"V1": (0, 512), "IT": (512, 832), "V4": (832, 1024)},
}


def matlab_strings(f: h5py.File, name: str) -> list[str]:
    """A MATLAB v7.3 cell array of strings (HDF5 object references to uint16 character arrays) as Python strings."""
    if name not in f:
        raise InvalidInputError(f"{f.filename} has no variable {name!r}")
    return ["".join(map(chr, np.asarray(f[ref]).ravel())) for ref in np.asarray(f[name]).ravel()]


@register_dataset
class TVSD(Dataset):
    """TVSD: ``responses(region, monkey="monkeyN", split="test")`` is stimulus × electrode × repetition (test: 100
    images × 30 repetitions) or stimulus × electrode (train), ids the THINGS file stems."""

    identifier = "TVSD"
    folder = "tvsd"
    citation = ("Papale, Wang, Self & Roelfsema (2025). An extensive dataset of spiking activity to reveal the "
                "syntax of the ventral stream. Neuron 113:539-553.")
    license = "CC BY 4.0 (GIN repository paolo_papale/TVSD)"
    species = "macaque"
    modality = "multi-unit activity (Utah arrays)"
    regions = ("V1", "V4", "IT")
    visual_degrees = None  # not verified here from the paper's text
    published_files = tuple(RemoteFile(path, GIN + path) for m in MONKEYS
                            for path in (f"{m}/THINGS_normMUA.mat", f"{m}/_logs/things_imgs.mat"))

    def download(self) -> list[Path]:
        return [fetch(self.folder, f) for f in self.published_files]

    def image_paths(self, monkey: str = "monkeyN", split: str = "test") -> list[str]:
        """The THINGS paths (``<concept>/<file>.jpg``) of the trials of ``split``, in data order."""
        self._check_selection({"monkey": monkey, "split": split}, {"monkey": MONKEYS, "split": SPLITS})
        with h5py.File(self._file(f"{monkey}/_logs/things_imgs.mat"), "r") as f:
            return matlab_strings(f, f"{split}_imgs/things_path")

    def stimulus_set(self, monkey: str = "monkeyN", split: str = "test", **selection: Any) -> StimulusSet:
        """The THINGS images of ``split`` in the order of :meth:`responses` (ids: file stems)."""
        self._check_selection(selection, {})
        paths = list(dict.fromkeys(self.image_paths(monkey, split)))
        root = things_image_root(self.folder)
        return StimulusSet(f"{self.identifier}.{split}", [Path(p).stem for p in paths], paths=[root / p for p in paths],
                           metadata=pd.DataFrame({"concept": [Path(p).parent.name for p in paths]}))

    def responses(self, region: str, monkey: str = "monkeyN", split: str = "test", **selection: Any) -> xr.DataArray:
        """Normalised MUA of the electrodes of ``region``."""
        self._check_region(region)
        self._check_selection({"monkey": monkey, "split": split, **selection}, {"monkey": MONKEYS, "split": SPLITS})
        start, end = ELECTRODES[monkey][region]
        paths = self.image_paths(monkey, split)
        path = self._file(f"{monkey}/THINGS_normMUA.mat")
        with h5py.File(path, "r") as f:
            if split == "test":  # (repetition, image, electrode): each image's 30 trials
                reps = np.asarray(f["test_MUA_reps"][:, :, start:end], dtype=np.float32)
                trials, ids = reps.reshape(-1, end - start), [p for _ in range(reps.shape[0]) for p in paths]
                if reps.shape[1] != len(paths):
                    raise InvalidInputError(f"{path}: test_MUA_reps has {reps.shape[1]} images, things_imgs.mat "
                                            f"{len(paths)}")
            else:
                trials, ids = np.asarray(f["train_MUA"][:, start:end], dtype=np.float32), paths
        if len(trials) != len(ids):
            raise InvalidInputError(f"{path}: {len(trials)} trials for {len(ids)} images in things_imgs.mat")
        values, order = trials_to_repetitions(trials, [Path(p).stem for p in ids])
        dims: tuple[str, ...] = (STIMULUS, NEUROID, REPETITION)
        if values.shape[-1] == 1:
            values, dims = values[..., 0], (STIMULUS, NEUROID)
        electrodes = np.arange(start, end) + 1
        return make_responses(values, order, dims=dims,
                              neuroid_coords={"neuroid_id": [f"{monkey}/e{e:04d}" for e in electrodes],
                                              "electrode": electrodes.tolist(), "array": ((electrodes - 1) // 64 + 1
                                                                                          ).tolist(),
                                              "animal": [monkey] * len(electrodes),
                                              "region": [region] * len(electrodes)},
                              attrs={"dataset": self.identifier, "region": region, "monkey": monkey, "split": split})

    def _file(self, path: str) -> Path:
        return fetch(self.folder, next(f for f in self.published_files if f.path == path))
