"""THINGS-fMRI on a generated miniature of THINGS-data's betas_csv layout, the response table written by
pandas' own HDF5 writer (PyTables): ROI rows, test repetitions, noise ceilings, the benchmark."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError, OfflineError
from brainalign.core.labels import make_features
from brainalign.data.datasets.things_fmri import THINGSfMRI
from brainalign.metrics.registry import get_metric

pytest.importorskip("tables")  # pandas' HDF5 writer, to make the file exactly as THINGS-data's authors did

N_VOXELS, N_TRAIN, N_TEST, N_REPS = 30, 12, 20, 3


@pytest.fixture
def betas(tmp_path, monkeypatch, private_cache):
    rng = np.random.default_rng(0)
    root = tmp_path / "mirror" / "things_fmri"
    (root / "betas_csv").mkdir(parents=True)
    train = [(f"thing{i}", f"thing{i}_01b.jpg", "train") for i in range(N_TRAIN)]
    test = [(f"test{i}", f"test{i}_s.jpg", "test") for i in range(N_TEST)] * N_REPS
    trials = pd.DataFrame(train + test, columns=["concept", "stimulus", "trial_type"]).sample(frac=1, random_state=0)
    trials = trials.reset_index(drop=True).assign(session=lambda t: 1 + t.index // 40, run=1)
    trials.to_csv(root / "betas_csv" / "sub-01_StimulusMetadata.csv", index=False)
    values = rng.normal(size=(N_VOXELS, len(trials))).astype(np.float32)
    table = pd.DataFrame(values)
    table.insert(0, "voxel_id", 1000 + np.arange(N_VOXELS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTables pickles the mixed column labels, as in the real file
        table.to_hdf(root / "betas_csv" / "sub-01_ResponseData.h5", key="ResponseData")
    voxels = pd.DataFrame({"voxel_id": 1000 + np.arange(N_VOXELS), "nc_testset": rng.uniform(0, 60, N_VOXELS),
                           "V1": rng.integers(0, 2, N_VOXELS), "lFFA": 0, "rFFA": 0})
    voxels.loc[[3, 4], "lFFA"] = 1
    voxels.loc[[20], "rFFA"] = 1
    voxels.to_csv(root / "betas_csv" / "sub-01_VoxelMetadata.csv", index=False)
    for concept, name, _ in train + test[:N_TEST]:
        (root / "object_images" / concept).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(root / "object_images" / concept / name)
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))
    return trials, values, voxels


def test_test_trials_become_repetitions_of_the_roi_voxels(betas):
    trials, values, voxels = betas
    responses = THINGSfMRI().responses("FFA")  # lFFA and rFFA: voxels 3, 4, 20
    assert responses.dims == ("stimulus", "neuroid", "repetition") and responses.shape == (N_TEST, 3, N_REPS)
    assert responses["neuroid_id"].values.tolist() == ["sub-01/voxel1003", "sub-01/voxel1004", "sub-01/voxel1020"]
    first = responses["stimulus_id"].values[0]
    columns = trials.index[trials["stimulus"] == f"{first}.jpg"]
    np.testing.assert_array_equal(responses.sel(stimulus=0).values, values[[3, 4, 20]][:, columns])
    train = THINGSfMRI().responses("V1", split="train")
    assert train.dims == ("stimulus", "neuroid") and train.shape == (N_TRAIN, int(voxels["V1"].sum()))
    stimuli = THINGSfMRI().stimulus_set(split="train")
    assert stimuli.stimulus_ids == train["stimulus_id"].values.tolist() and stimuli.paths[0].is_file()
    np.testing.assert_allclose(THINGSfMRI().ceiling("FFA"), voxels["nc_testset"].to_numpy()[[3, 4, 20]] / 100)


def test_things_fmri_benchmark_uses_the_published_ceiling(betas):
    responses = THINGSfMRI().responses("V1")
    rng = np.random.default_rng(1)
    features = make_features(rng.normal(size=(N_TEST, 8)), responses["stimulus_id"].values)
    score = get_benchmark("THINGSfMRI.V1-ridge")(features)
    direct = get_metric("ridge")(features, responses, ceiling=THINGSfMRI().ceiling("V1"))
    assert (score.raw, score.ceiling) == (direct.raw, direct.ceiling)


def test_unknown_roi_and_missing_images_are_named(betas, tmp_path, monkeypatch):
    with pytest.raises(InvalidInputError, match="no column for ROI 'PPA'"):
        THINGSfMRI().responses("PPA")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(OfflineError, match=r"betas_csv/sub-01_StimulusMetadata.csv is not here: download it from "
                                           r"https://plus.figshare.com/ndownloader/files/36789690"):
        THINGSfMRI().stimulus_set()


def test_stimulus_metadata_without_concept_column(betas):
    """The StimulusMetadata shown in THINGS-data's usage notebook has no ``concept``: it comes from the file name."""
    trials, _, _ = betas
    path = Path(os.environ["BRAINALIGN_MIRROR"]) / "things_fmri" / "betas_csv" / "sub-01_StimulusMetadata.csv"
    trials.drop(columns="concept").assign(subject_id=1, trial_id=range(len(trials))).to_csv(path, index=False)
    stimuli = THINGSfMRI().stimulus_set(split="train")
    assert stimuli.metadata["concept"].tolist()[:3] == [s.split("_")[0] for s in stimuli.stimulus_ids[:3]]
    assert all(p.is_file() for p in stimuli.paths)
