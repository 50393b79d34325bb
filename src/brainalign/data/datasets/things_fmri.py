"""THINGS-fMRI (Hebart et al. 2023, THINGS-data): 3 subjects' single-trial 3T fMRI betas to 8,740 THINGS
images (720 concepts), plus 100 test images shown 12 times, with ROI labels and noise ceilings per voxel.

Files (``betas_csv.zip`` of the THINGS-data figshare collection, unpacked under ``things_fmri/betas_csv/``)::

    sub-01_ResponseData.h5       pandas HDF5 (fixed format), key "ResponseData": voxels × (voxel_id, trial 0, 1, ...)
    sub-01_StimulusMetadata.csv  one row per trial: trial_type (train / test; catch trials are not in the
                                 table), session, run, subject_id, trial_id, stimulus (file name) [, concept]
    sub-01_VoxelMetadata.csv     one row per voxel: voxel_id, nc_testset (noise ceiling, %), ROI columns (0/1):
                                 V1, V2, V3, hV4, ... and per hemisphere lEBA/rEBA, lFFA/rFFA, lOFA/rOFA,
                                 lSTS/rSTS, lPPA/rPPA, lRSC/rRSC, lTOS/rTOS, lLOC/rLOC

Confirmed from ``ViCCo-Group/THINGS-data`` ``MRI/notebooks/fmri_usage.ipynb`` (file names; "rows are voxels,
columns are trials" plus ``voxel_id``; the voxel metadata columns above; nc_testset in %, e.g. 11.8; the
StimulusMetadata columns, which in the notebook's output have no ``concept``: when the column is absent the
concept is the file name before its last ``_``, the THINGS naming ``<concept>_<nn><letter>.jpg``). Not
confirmed from the index: the 10° image size (kept from the paper's Methods as recalled; no indexed source
states it) and the 100 test images × 12 repetitions (the notebook's text says "200 images"; the loader takes
whatever the metadata lists).

The response table is read with h5py (no PyTables needed): its float block holds the trial betas in trial
order, its ``voxel_id`` block the voxel ids; only the rows of the requested ROI are read. ROI ``FFA`` is the
union of the metadata columns ``FFA``, ``lFFA`` and ``rFFA`` (category ROIs come per hemisphere). Images: the
THINGS database (``object_images/<concept>/<file>``), handed out by its own OSF page.
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
from brainalign.data.fetch import RemoteFile, local_folder
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet
from brainalign.data.trials import trials_to_repetitions

BETAS_URL = "https://plus.figshare.com/ndownloader/files/36789690"  # betas_csv.zip (about 43 GB)
THINGS_IMAGES_URL = "https://osf.io/jum2f/"  # the THINGS image database (password in its README)
SUBJECTS = ("sub-01", "sub-02", "sub-03")
SPLITS = ("train", "test")


def read_response_rows(path: Path, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(betas, voxel_ids)`` of the given voxel rows of a THINGS-data ``ResponseData.h5`` (rows × trials)."""
    with h5py.File(path, "r") as f:
        if "ResponseData" not in f:
            raise InvalidInputError(f"{path} has no 'ResponseData' table; found {sorted(f)}")
        table = f["ResponseData"]
        blocks = [k[:-len("_items")] for k in table if k.endswith("_items")]
        ids = [b for b in blocks if table[f"{b}_items"].dtype.kind == "S"
               and [bytes(x) for x in table[f"{b}_items"][:]] == [b"voxel_id"]]
        betas = [b for b in blocks if b not in ids]
        if len(ids) != 1 or len(betas) != 1:
            raise InvalidInputError(f"{path}: expected one 'voxel_id' column and one block of trial betas; got "
                                    f"blocks {blocks}")
        order = np.argsort(rows)
        sorted_rows = np.asarray(rows)[order]
        values = np.empty((len(rows), table[f"{betas[0]}_values"].shape[1]), dtype=np.float32)
        values[order] = table[f"{betas[0]}_values"][sorted_rows]  # h5py reads increasing rows
        voxel_ids = np.empty(len(rows), dtype=np.int64)
        voxel_ids[order] = table[f"{ids[0]}_values"][sorted_rows, 0]
    return values, voxel_ids


def things_image_root(folder: str) -> Path:
    """The THINGS images folder (``object_images/<concept>/<file>``) of dataset ``folder`` in a mirror or the cache;
    missing, the error says where to get it and where to put it."""
    return local_folder(folder, "object_images", "the THINGS images", f"{THINGS_IMAGES_URL} (password in its README)")


@register_dataset
class THINGSfMRI(Dataset):
    """THINGS-fMRI single-trial betas: ``responses(region, subject="sub-01", split="test")`` is stimulus × voxel ×
    repetition (test: 100 images × 12 repetitions) or stimulus × voxel (train: 8,640 images, one trial each)."""

    identifier = "THINGSfMRI"
    folder = "things_fmri"
    citation = ("Hebart, Contier, Teichmann, Rockter, Zheng, Kidder, Corriveau, Vaziri-Pashkam & Baker (2023). "
                "THINGS-data, a multimodal collection of large-scale datasets for investigating object "
                "representations in human brain and behavior. eLife 12:e82580.")
    license = "CC0 (THINGS-data figshare collection); THINGS images: research use (THINGS licence)"
    species = "human"
    modality = "fMRI (3T, single-trial betas, volume)"
    regions = ("V1", "V2", "V3", "hV4", "LOC", "FFA", "PPA", "EBA", "OFA", "STS", "RSC", "TOS")
    visual_degrees = 10.0  # Hebart et al. 2023, Methods, as recalled: not confirmed from an indexed source
    subjects = SUBJECTS
    files = tuple(RemoteFile(f"betas_csv/{s}_{name}", BETAS_URL, manual=True) for s in SUBJECTS
                  for name in ("ResponseData.h5", "StimulusMetadata.csv", "VoxelMetadata.csv"))

    def stimulus_set(self, subject: str = "sub-01", split: str = "test", **selection: Any) -> StimulusSet:
        """The images of ``split`` in the order of :meth:`responses` (ids: file stems)."""
        trials = self._trials(subject, split, selection)
        images = trials.drop_duplicates("stimulus")
        root = things_image_root(self.folder)
        return StimulusSet(f"{self.identifier}.{split}", [Path(s).stem for s in images["stimulus"]],
                           paths=[root / c / s for c, s in zip(images["concept"], images["stimulus"], strict=True)],
                           metadata=images[["concept", "stimulus"]].rename(columns={"stimulus": "filename"}))

    def responses(self, region: str, subject: str = "sub-01", split: str = "test", **selection: Any) -> xr.DataArray:
        """Betas of the voxels of ``region``; test trials of one image are its repetitions (in session order)."""
        self._check_region(region)
        trials = self._trials(subject, split, selection)
        voxels = self._voxels(subject)
        rows = np.flatnonzero(self._in_region(voxels, region))
        betas, voxel_ids = read_response_rows(self._fetch(f"betas_csv/{subject}_ResponseData.h5"), rows)
        if not np.array_equal(voxel_ids, voxels["voxel_id"].to_numpy()[rows]):
            raise InvalidInputError(f"voxel ids of {subject}_ResponseData.h5 and {subject}_VoxelMetadata.csv differ")
        if betas.shape[1] != self._n_trials(subject):
            raise InvalidInputError(f"{subject}_ResponseData.h5 has {betas.shape[1]} trials, "
                                    f"{subject}_StimulusMetadata.csv {self._n_trials(subject)}")
        values, order = trials_to_repetitions(betas[:, trials.index.to_numpy()].T, trials["stimulus"].tolist())
        dims: tuple[str, ...] = (STIMULUS, NEUROID, REPETITION)
        if values.shape[-1] == 1:
            values, dims = values[..., 0], (STIMULUS, NEUROID)
        return make_responses(values, [Path(s).stem for s in order], dims=dims,
                              neuroid_coords={"neuroid_id": [f"{subject}/voxel{v}" for v in voxel_ids],
                                              "subject": [subject] * len(rows), "region": [region] * len(rows)},
                              attrs={"dataset": self.identifier, "region": region, "subject": subject, "split": split})

    def ceiling(self, region: str, subject: str = "sub-01", split: str = "test", **selection: Any) -> np.ndarray:
        """Per-voxel noise ceiling of ``region`` (``nc_testset`` / 100: fraction of variance), voxel order of
        :meth:`responses`."""
        self._check_region(region)
        self._trials(subject, split, selection)
        voxels = self._voxels(subject)
        return voxels["nc_testset"].to_numpy(dtype=float)[self._in_region(voxels, region)] / 100.0

    def _trials(self, subject: str, split: str, selection: dict[str, Any]) -> pd.DataFrame:
        self._check_selection({"subject": subject, "split": split, **selection},
                              {"subject": self.subjects, "split": SPLITS})
        table = pd.read_csv(self._fetch(f"betas_csv/{subject}_StimulusMetadata.csv"))
        missing = {"trial_type", "stimulus"} - set(table.columns)
        if missing:
            raise InvalidInputError(f"{subject}_StimulusMetadata.csv lacks columns {sorted(missing)}")
        if "concept" not in table.columns:  # the release shown in THINGS-data's usage notebook
            table["concept"] = table["stimulus"].astype(str).str.rsplit("_", n=1).str[0]
        return table[table["trial_type"] == split]

    def _n_trials(self, subject: str) -> int:
        return len(pd.read_csv(self._fetch(f"betas_csv/{subject}_StimulusMetadata.csv"), usecols=["trial_type"]))

    def _voxels(self, subject: str) -> pd.DataFrame:
        return pd.read_csv(self._fetch(f"betas_csv/{subject}_VoxelMetadata.csv"))

    def _in_region(self, voxels: pd.DataFrame, region: str) -> np.ndarray:
        columns = [c for c in (region, f"l{region}", f"r{region}") if c in voxels.columns]
        if not columns:
            raise InvalidInputError(f"VoxelMetadata has no column for ROI {region!r} (looked for {region}, "
                                    f"l{region}, r{region})")
        return voxels[columns].to_numpy().astype(bool).any(axis=1)

