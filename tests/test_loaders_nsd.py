"""NSD in the Algonauts 2023 layout, on a generated miniature subject: ROI columns read through memory maps,
shared-1000 selection from nsd_expdesign.mat, NSD noise ceilings from ncsnr, the benchmark, offline and corrupt
files."""

from __future__ import annotations

import nibabel
import numpy as np
import pytest
import scipy.io
from PIL import Image

import brainalign.data.datasets.nsd as nsd_module
from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import OfflineError, UnknownNameError
from brainalign.core.labels import make_features
from brainalign.data.datasets.nsd import NSD, roi_columns
from brainalign.data.fetch import ChecksumError
from brainalign.metrics.registry import get_metric

N_IMAGES, N_FSAVERAGE = 40, 300
N_VERTICES = {"lh": 60, "rh": 50}
NSD_INDEX = np.arange(N_IMAGES) * 7 + 3  # 0-based NSD image indices of the training images
SHARED = NSD_INDEX[::3]  # of which these are in the shared 1000


@pytest.fixture
def subject(tmp_path, monkeypatch, private_cache):
    """subj01 in the Algonauts 2023 layout under a mirror, plus NSD's ncsnr and experiment design files."""
    rng = np.random.default_rng(0)
    root = tmp_path / "mirror" / "nsd_algonauts2023"
    folder = root / "subj01"
    for sub in ("training_split/training_fmri", "training_split/training_images", "roi_masks", "ncsnr"):
        (folder / sub).mkdir(parents=True)
    truth = {}
    for h, n in N_VERTICES.items():
        fmri = rng.normal(size=(N_IMAGES, n)).astype(np.float32)
        visual = rng.integers(0, 8, size=n)  # 0 none, 1 V1v, 2 V1d, 3 V2v, ... 7 hV4
        streams = rng.integers(0, 8, size=n)
        in_challenge = np.zeros(N_FSAVERAGE)
        in_challenge[np.sort(rng.choice(N_FSAVERAGE, n, replace=False))] = 1
        ncsnr = rng.uniform(0, 1.5, size=N_FSAVERAGE).astype(np.float32)
        np.save(folder / f"training_split/training_fmri/{h}_training_fmri.npy", fmri)
        np.save(folder / f"roi_masks/{h}.prf-visualrois_challenge_space.npy", visual)
        np.save(folder / f"roi_masks/{h}.streams_challenge_space.npy", streams)
        np.save(folder / f"roi_masks/{h}.all-vertices_fsaverage_space.npy", in_challenge)
        nibabel.save(nibabel.MGHImage(ncsnr.reshape(-1, 1, 1), np.eye(4)), folder / f"ncsnr/{h}.ncsnr.mgh")
        truth[h] = (fmri, visual, streams, ncsnr[in_challenge.astype(bool)])
    for i, index in enumerate(NSD_INDEX):
        Image.new("RGB", (4, 4), (i, 0, 0)).save(folder / f"training_split/training_images/"
                                                 f"train-{i + 1:04d}_nsd-{index:05d}.png")
    scipy.io.savemat(root / "nsd_expdesign.mat", {"sharedix": (SHARED + 1).reshape(1, -1)})  # MATLAB: 1-based
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))
    return folder, truth


def test_roi_responses_are_the_roi_columns_of_both_hemispheres(subject, monkeypatch):
    monkeypatch.setattr(nsd_module, "ROWS_PER_BLOCK", 7)  # several memory-mapped blocks
    _, truth = subject
    responses = NSD().responses("V1")
    expected = np.concatenate([truth[h][0][:, np.isin(truth[h][1], (1, 2))] for h in ("lh", "rh")], axis=1)
    np.testing.assert_array_equal(responses.values, expected)
    assert responses["stimulus_id"].values[:2].tolist() == ["nsd-00003", "nsd-00010"]
    n_left = int(np.isin(truth["lh"][1], (1, 2)).sum())
    assert responses["hemisphere"].values.tolist() == ["lh"] * n_left + ["rh"] * (expected.shape[1] - n_left)
    ventral = NSD().responses("ventral")  # stream label 5
    np.testing.assert_array_equal(ventral.values[:, :int((truth["lh"][2] == 5).sum())],
                                  truth["lh"][0][:, truth["lh"][2] == 5])


def test_shared1000_images_and_ncsnr_ceilings(subject):
    _, truth = subject
    dataset = NSD()
    stimuli = dataset.stimulus_set(images="shared1000")
    assert stimuli.stimulus_ids == [f"nsd-{i:05d}" for i in SHARED]
    assert stimuli.load_image(1).getpixel((0, 0))[0] == 3  # the 4th image
    responses = dataset.responses("hV4", images="shared1000")
    assert responses["stimulus_id"].values.tolist() == stimuli.stimulus_ids
    np.testing.assert_array_equal(responses.values[:, 0], truth["lh"][0][::3, truth["lh"][1] == 7][:, 0])
    ncsnr = np.concatenate([truth[h][3][truth[h][1] == 7] for h in ("lh", "rh")])
    np.testing.assert_allclose(dataset.ceiling("hV4"), ncsnr**2 / (ncsnr**2 + 1 / 3), rtol=1e-6)
    with pytest.raises(UnknownNameError, match="'subj09'"):
        dataset.responses("V1", subject="subj09")


def test_nsd_benchmark_divides_by_the_noise_ceiling(subject):
    benchmark = get_benchmark("NSD.V2-ridge")
    dataset = NSD()
    responses = dataset.responses("V2", images="shared1000")
    rng = np.random.default_rng(3)
    features = make_features(responses.values @ rng.normal(size=(responses.sizes["neuroid"], 20)),
                             responses["stimulus_id"].values)
    score = benchmark(features)
    direct = get_metric("ridge")(features, responses, ceiling=dataset.ceiling("V2"))
    assert (score.value, score.raw, score.ceiling) == (direct.value, direct.raw, direct.ceiling)


def test_missing_and_corrupt_files_are_named(subject, tmp_path, monkeypatch):
    folder, _ = subject
    NSD().responses("V3")  # first use records the sha256 of every file it read
    np.save(folder / "training_split/training_fmri/lh_training_fmri.npy", np.zeros((N_IMAGES, 60), np.float32))
    with pytest.warns(UserWarning, match="lh_training_fmri.npy"), pytest.raises(ChecksumError, match="expected sha256"):
        NSD().responses("V3")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "empty"))
    with pytest.raises(OfflineError, match=r"algonauts.csail.mit.edu.*empty/nsd_algonauts2023/subj01/training_"):
        NSD().stimulus_set()


def test_roi_columns_reads_rows_in_any_order(tmp_path):
    data = np.arange(60.0, dtype=np.float32).reshape(6, 10)
    np.save(tmp_path / "x.npy", data)
    rows, columns = np.array([5, 0, 3]), np.array([9, 2])
    np.testing.assert_array_equal(roi_columns(tmp_path / "x.npy", columns, rows), data[rows][:, columns])
