"""THINGS-EEG2 (Gifford et al. 2022): 10 subjects' EEG to THINGS object images, preprocessed to 17 occipital and
parietal channels × 100 time points (-200 to +800 ms, 100 Hz), every repetition kept.

Layout (the OSF release, unpacked under ``things_eeg2/`` in a mirror or the cache)::

    preprocessed_data/sub-01/preprocessed_eeg_test.npy       dict: preprocessed_eeg_data (200 images × 80
                                                              repetitions × 17 channels × 100 times), ch_names, times
    preprocessed_data/sub-01/preprocessed_eeg_training.npy   the same for 16,540 images × 4 repetitions
    image_set/image_metadata.npy                             dict: {test,train}_img_concepts / _files, in data order
    image_set/test_images/<concept>/<file>.jpg               (and training_images/)

Confirmed from ``gifale95/eeg_encoding``: ``02_eeg_preprocessing/preprocessing_utils.py`` (``save_prepr``: the
dict keys ``preprocessed_eeg_data``, ``ch_names``, ``times``, data image conditions × repetitions × channels ×
time points, the file names and folders; ``epoching``: channels matching ``^O *|^P *``, epochs -0.2 to 0.8 s,
baseline before 0, 20 test and 2 training repetitions kept per session, so 80 and 4 over the 4 sessions),
``02_eeg_preprocessing/preprocessing.py`` (100 Hz, MVNN over time) and ``00_data_collection/train/
data_collection_train.m`` (images 7° × 7° of visual angle, ``p.visAngleX=7``). The image metadata keys
(``train_img_concepts``, ``train_img_files``, ``test_...``) and folders (``training_images``, ``test_images``)
are as read by users' code in the index, not by the providers' own.

The ``.npy`` files hold pickled Python dicts (``numpy.save`` of a dict), so they are read only after their
checksum was verified (no checksum is published: the first copy's sha256 is recorded by `brainalign.data.fetch`
and checked on every later use), and with `brainalign.data.array_pickle.load_object_npy`, which rebuilds NumPy
arrays and built-in containers and refuses anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, TIME, make_responses
from brainalign.data.array_pickle import load_object_npy
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile, local_folder
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet

OSF_URL = "https://osf.io/3jk45/"  # the project page; its files are downloaded from there by hand
SUBJECTS = tuple(f"sub-{i:02d}" for i in range(1, 11))
SPLITS = {"test": "test", "training": "train"}  # our split name → the prefix of its metadata keys
METADATA = "image_set/image_metadata.npy"
DATA_KEYS = ("preprocessed_eeg_data", "ch_names", "times")


def _eeg(subject: str, split: str) -> str:
    return f"preprocessed_data/{subject}/preprocessed_eeg_{split}.npy"


def load_dict(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """A dict saved with ``numpy.save`` (checksum-verified by the caller), with ``keys`` checked.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.npy"
    >>> np.save(path, {"a": 1})
    >>> load_dict(path, ("a",))
    {'a': 1}
    """
    content = load_object_npy(path)
    if not isinstance(content, dict) or not set(keys) <= set(content):
        found = sorted(content) if isinstance(content, dict) else f"an array of shape {np.shape(content)}"
        raise InvalidInputError(f"{path} should hold a dict with keys {list(keys)}; found {found}")
    return content


@register_dataset
class THINGSEEG2(Dataset):
    """THINGS-EEG2: ``responses("occipitoparietal", subject=..., split="test")`` is stimulus × channel ×
    repetition × time (ms), every repetition kept (80 per test image, 4 per training image)."""

    identifier = "THINGSEEG2"
    folder = "things_eeg2"
    citation = ("Gifford, Dwivedi, Roig & Cichy (2022). A large and rich EEG dataset for modeling human visual "
                "object recognition. NeuroImage 264:119754.")
    license = f"see the OSF project {OSF_URL} (THINGS images: THINGS licence, research use)"
    species = "human"
    modality = "EEG (64 channels recorded; 17 occipital/parietal kept, 100 Hz)"
    regions = ("occipitoparietal",)
    visual_degrees = 7.0  # p.visAngleX = 7 in the authors' data_collection_train.m
    subjects = SUBJECTS
    files = (*(RemoteFile(_eeg(s, split), OSF_URL, manual=True) for s in SUBJECTS
               for split in ("test", "training")),
             RemoteFile(METADATA, OSF_URL, manual=True))

    def stimulus_set(self, subject: str = "sub-01", split: str = "test", **selection: Any) -> StimulusSet:
        """The images of ``split`` in the order of the EEG data (ids ``<split>/<file stem>``)."""
        concepts, files = self._images(subject, split, selection)
        folder = self._image_root(split)
        return StimulusSet(f"{self.identifier}.{split}", _ids(split, files),
                           paths=[folder / c / f for c, f in zip(concepts, files, strict=True)],
                           metadata=pd.DataFrame({"concept": concepts, "filename": files}))

    def responses(self, region: str, subject: str = "sub-01", split: str = "test", **selection: Any) -> xr.DataArray:
        """EEG of one subject and split: stimulus × channel × repetition × time (``time`` in ms)."""
        self._check_region(region)
        _, files = self._images(subject, split, selection)
        path = self._fetch(_eeg(subject, split))
        content = load_dict(path, DATA_KEYS)
        data = np.asarray(content["preprocessed_eeg_data"])  # image × repetition × channel × time
        channels, times = list(content["ch_names"]), np.asarray(content["times"], dtype=float)
        if data.shape[0] != len(files) or data.shape[2:] != (len(channels), len(times)):
            raise InvalidInputError(f"{path}: data of shape {data.shape} do not fit {len(files)} images, "
                                    f"{len(channels)} channels and {len(times)} time points")
        responses = make_responses(
            data.transpose(0, 2, 1, 3), _ids(split, files), dims=(STIMULUS, NEUROID, REPETITION, TIME),
            neuroid_coords={"neuroid_id": [f"{subject}/{c}" for c in channels], "channel": channels,
                            "subject": [subject] * len(channels), "region": [region] * len(channels)},
            attrs={"dataset": self.identifier, "region": region, "subject": subject, "split": split,
                   "unit": "µV (baseline-corrected, multivariate noise-normalised by the authors)"})
        return responses.assign_coords({TIME: np.round(times * 1000.0, 6)})

    def _images(self, subject: str, split: str, selection: dict[str, Any]) -> tuple[list[str], list[str]]:
        self._check_selection({"subject": subject, "split": split, **selection},
                              {"subject": self.subjects, "split": SPLITS})
        prefix = SPLITS[split]
        keys = (f"{prefix}_img_concepts", f"{prefix}_img_files")
        metadata = load_dict(self._fetch(METADATA), keys)
        return [str(c) for c in metadata[keys[0]]], [str(f) for f in metadata[keys[1]]]

    def _image_root(self, split: str) -> Path:
        return local_folder(self.folder, f"image_set/{split}_images", f"the {split} images",
                            f"{OSF_URL} (the image set)")


def _ids(split: str, files: list[str]) -> list[str]:
    return [f"{split}/{Path(f).stem}" for f in files]
