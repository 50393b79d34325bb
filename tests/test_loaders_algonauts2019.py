"""Algonauts 2019 training data on a generated miniature in the challenge layout (MATLAB v5 and v7.3 files)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image

from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError, OfflineError
from brainalign.core.labels import make_features
from brainalign.data.datasets.algonauts2019 import Algonauts2019Set92, Algonauts2019Set118, read_mat_variable
from brainalign.data.fetch import ChecksumError
from brainalign.metrics.registry import get_metric

N_SUBJECTS = 4


def _rdms(rng, shape, n):
    x = rng.normal(size=(n, 6)) + 0.5 * rng.normal(size=(*shape, n, 6))  # subjects share one geometry
    centred = x - x.mean(-1, keepdims=True)
    normed = centred / np.linalg.norm(centred, axis=-1, keepdims=True)
    return 1 - normed @ np.swapaxes(normed, -1, -2)  # 1 - Pearson r: symmetric, zero diagonal


@pytest.fixture
def challenge(tmp_path, monkeypatch, private_cache):
    rng = np.random.default_rng(0)
    root = tmp_path / "mirror" / "algonauts2019" / "Training_Data" / "92_Image_Set"
    (root / "92images").mkdir(parents=True)
    for i in range(1, 93):
        Image.new("RGB", (4, 4), (i, 0, 0)).save(root / "92images" / f"image_{i:02d}.jpg")
    fmri = {"EVC_RDMs": _rdms(rng, (N_SUBJECTS,), 92), "IT_RDMs": _rdms(rng, (N_SUBJECTS,), 92)}
    meg = {"MEG_RDMs_early": _rdms(rng, (N_SUBJECTS, 2), 92), "MEG_RDMs_late": _rdms(rng, (N_SUBJECTS, 2), 92)}
    scipy.io.savemat(root / "target_fmri.mat", fmri)
    with h5py.File(root / "target_meg.mat", "w", userblock_size=512) as f:  # MATLAB v7.3: axes stored reversed
        for name, value in meg.items():
            f[name] = value.transpose()
            f[name].attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2019 HDF5 schema 1.00 ."
    with open(root / "target_meg.mat", "r+b") as f:  # MATLAB's text header, version 0x0200, endian mark "IM"
        f.write(header.ljust(116) + b"\0" * 8 + b"\x00\x02IM")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))
    return root, fmri, meg


def test_fmri_and_meg_rdms_per_subject_and_session(challenge):
    _, fmri, meg = challenge
    dataset = Algonauts2019Set92()
    it = dataset.rdms("IT")
    np.testing.assert_allclose(it.square(), fmri["IT_RDMs"], atol=1e-12)
    assert it.descriptors["subject"].tolist() == [1, 2, 3, 4] and it.distance == "correlation"
    late = dataset.rdms("MEG-late")
    np.testing.assert_allclose(late.square(), meg["MEG_RDMs_late"].reshape(-1, 92, 92), atol=1e-12)
    assert late.descriptors[["subject", "session"]].values[:3].tolist() == [[1, 1], [1, 2], [2, 1]]
    stimuli = dataset.stimulus_set()
    assert stimuli.stimulus_ids == it.stimulus_ids and stimuli.paths[9].name == "image_10.jpg"


@pytest.mark.slow
def test_rsa_benchmark_scores_the_subjects_rdms(challenge):
    rng = np.random.default_rng(1)
    ids = Algonauts2019Set92().rdms("EVC").stimulus_ids
    features = make_features(rng.normal(size=(92, 30)), ids)
    score = get_benchmark("Algonauts2019-92.EVC-rsa")(features)
    direct = get_metric("rsa")(features, Algonauts2019Set92().rdms("EVC"))
    assert (score.value, score.raw, score.ceiling) == (direct.value, direct.raw, direct.ceiling)
    assert np.isfinite(score.ceiling) and score.ceiling > 0.5  # the subjects share a geometry: a reliable ceiling


def test_missing_corrupt_and_malformed_files_are_named(challenge, tmp_path, monkeypatch):
    root, _, _ = challenge
    with pytest.raises(InvalidInputError, match="has no variable 'V1_RDMs'; variables: \\['EVC_RDMs', 'IT_RDMs'\\]"):
        read_mat_variable(root / "target_fmri.mat", "V1_RDMs")
    Algonauts2019Set92().rdms("EVC")
    scipy.io.savemat(root / "target_fmri.mat", {"EVC_RDMs": np.zeros((1, 92, 92))})
    with pytest.warns(UserWarning, match="target_fmri.mat"), pytest.raises(ChecksumError):
        Algonauts2019Set92().rdms("EVC")
    with pytest.raises(OfflineError, match=r"118_Image_Set/target_fmri.mat is not here: download it from "
                                           r"http://algonauts.csail.mit.edu/2019/challenge.html"):
        Algonauts2019Set118().rdms("IT")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(OfflineError, match="the 92 images are not here"):
        Algonauts2019Set92().stimulus_set()
