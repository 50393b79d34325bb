"""BOLD Moments on a generated miniature of its OpenNeuro layout (ds005165: version B prepared-betas pickles per
subject, hemisphere and ROI; the BIDS ``stimuli/test/NNNN.mp4`` videos): labelled responses, the video stimulus
set, checksums, offline misses, the restricted unpickler, and ridge scores on a simulated brain."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import shutil
import urllib.error
import urllib.request
import warnings

import numpy as np
import pandas as pd
import pytest

from brainalign.benchmarks.registry import get_benchmark
from brainalign.benchmarks.video import BOLD_MOMENTS_BENCHMARKS
from brainalign.core.errors import InvalidInputError, OfflineError, UnknownNameError
from brainalign.core.labels import make_features
from brainalign.data.array_pickle import UnsafePickleError, load_array_pickle
from brainalign.data.datasets.bold_moments import OPENNEURO, ROIS, STIMULUS_PAGE, BOLDMoments, betas_path
from brainalign.data.fetch import ChecksumError
from brainalign.metrics.ceilings.reliability import split_half_reliability
from brainalign.metrics.registry import get_metric
from brainalign.models.sources.video import read_frames, write_video

N_LATENTS = 4
VOXELS = {("l", "V1v"): 6, ("l", "V1d"): 4, ("r", "V1v"): 5, ("r", "V1d"): 3}  # sub-01's files in the miniature
SIZE, HALF = 32, 16  # each video: 2 frames of 32 x 32, one flat grey level per quadrant (one per latent)


def _brightness(latents: np.ndarray) -> np.ndarray:
    return np.clip(128 + 35 * latents, 10, 245)


def _video(levels: np.ndarray) -> np.ndarray:
    frame = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
    for k, (row, col) in enumerate(((0, 0), (0, HALF), (HALF, 0), (HALF, HALF))):
        frame[row:row + HALF, col:col + HALF] = int(levels[k])
    return np.stack([frame, frame])


def quadrant_means(paths: list) -> np.ndarray:
    """A 'video model': the mean grey level of each quadrant over the clip's frames (inverts :func:`_video`)."""
    out = []
    for path in paths:
        frames = np.stack([np.asarray(f, dtype=float)[..., 0] for f in read_frames(path, 2)])
        out.append([frames[:, r:r + HALF, c:c + HALF].mean() for r, c in ((0, 0), (0, HALF), (HALF, 0), (HALF, HALF))])
    return np.array(out)


def _betas(rng, latents: np.ndarray, n_reps: int, weights: np.ndarray) -> np.ndarray:
    """(video, repetition, voxel): every voxel a linear readout of the latents, plus trial noise."""
    signal = (_brightness(latents) - 128) / 35 @ weights
    return signal[:, None, :] + 4.0 * rng.normal(size=(len(latents), n_reps, weights.shape[1]))


@pytest.fixture(scope="module")
def miniature(tmp_path_factory):
    """``bold_moments/`` with sub-01's V1v and V1d (both hemispheres), sub-02's lV1v and the 102 test videos."""
    rng = np.random.default_rng(0)
    mirror = tmp_path_factory.mktemp("mirror")
    root = mirror / "bold_moments"
    test_latents, train_latents = rng.normal(size=(102, N_LATENTS)), rng.normal(size=(1000, N_LATENTS))
    written = {}
    for subject, side, roi in [("sub-01", *key) for key in VOXELS] + [("sub-02", "l", "V1v")]:
        weights = rng.normal(size=(N_LATENTS, VOXELS[side, roi]))
        content = {"train_data_allvoxel": _betas(rng, train_latents, 3, weights),
                   "test_data_allvoxel": _betas(rng, test_latents, 10, weights)}
        path = root / betas_path(subject, f"{side}{roi}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(content, f, protocol=pickle.HIGHEST_PROTOCOL)  # as the authors' preparation scripts
        written[subject, side, roi] = content
    (root / "stimuli" / "test").mkdir(parents=True)
    for i, levels in enumerate(_brightness(test_latents)):
        write_video(root / "stimuli" / "test" / f"{1001 + i}.mp4", _video(levels))
    return mirror, written, test_latents


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def bmd(miniature, monkeypatch, private_cache):
    """The miniature as the only mirror; sub-01's published checksums replaced by the miniature's."""
    mirror, written, latents = miniature
    root = mirror / "bold_moments"
    files = tuple(dataclasses.replace(f, sha256=_sha256(root / f.path)) if (root / f.path).is_file() else f
                  for f in BOLDMoments.files)
    monkeypatch.setattr(BOLDMoments, "files", files)
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(mirror))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return root, written, latents


def test_published_files_and_checksums():
    files = [f for f in BOLDMoments.files if f.sha256 is not None]  # sub-01's, from their git-annex keys
    assert len(files) == 46 and len(BOLD_MOMENTS_BENCHMARKS) == 20
    assert {f.path.split("_roi-")[1][1:].split("_betas")[0] for f in files} == set(ROIS)
    assert all(len(f.sha256) == 64 and f.url == OPENNEURO + f.path and "/sub-01/" in f.path for f in files)
    assert len(BOLDMoments.files) == 10 * 46  # the other subjects' sha256 is recorded at first use
    assert get_benchmark("BOLDMoments.IPS1-2-3-ridge").region == "IPS1-2-3"


def test_responses_are_labelled_stimulus_voxel_repetition(bmd):
    _, written, _ = bmd
    v1v = BOLDMoments().responses("V1v")
    assert v1v.dims == ("stimulus", "neuroid", "repetition") and v1v.shape == (102, 11, 10)
    expected = np.concatenate([written["sub-01", "l", "V1v"]["test_data_allvoxel"],
                               written["sub-01", "r", "V1v"]["test_data_allvoxel"]], axis=2).transpose(0, 2, 1)
    np.testing.assert_allclose(v1v.values, expected, rtol=1e-6)
    assert v1v["stimulus_id"].values[[0, -1]].tolist() == ["1001", "1102"]
    assert v1v["hemisphere"].values.tolist() == ["l"] * 6 + ["r"] * 5
    assert v1v["neuroid_id"].values[6] == "sub-01/rV1v/0" and set(v1v["region"].values) == {"V1v"}
    v1 = BOLDMoments().responses("V1")  # per hemisphere: the ventral, then the dorsal part
    assert v1.shape == (102, 18, 10) and v1["roi"].values[[0, 6, 10, 15]].tolist() == ["V1v", "V1d", "V1v", "V1d"]
    np.testing.assert_allclose(v1.values[:, 6:10], written["sub-01", "l", "V1d"]["test_data_allvoxel"].transpose(
        0, 2, 1), rtol=1e-6)
    assert v1["neuroid_id"].values[15] == "sub-01/rV1d/0" and len(set(v1["neuroid_id"].values)) == 18
    train = BOLDMoments().responses("V1v", split="train", hemisphere="r")
    assert train.shape == (1000, 5, 3) and train["stimulus_id"].values[0] == "0001"
    np.testing.assert_allclose(train.values, written["sub-01", "r", "V1v"]["train_data_allvoxel"].transpose(0, 2, 1),
                               rtol=1e-6)
    other = BOLDMoments().responses("V1v", subject="sub-02", hemisphere="l")  # no published sha256: recorded
    assert other.shape == (102, 6, 10) and other["subject"].values[0] == "sub-02"
    with pytest.raises(UnknownNameError, match="'both-sides'.*valid: both, l, r"):
        BOLDMoments().responses("V1v", hemisphere="both-sides")
    with pytest.raises(UnknownNameError, match="unknown region 'V4'; did you mean 'hV4'"):
        BOLDMoments().responses("V4")


def test_stimulus_set_lists_the_videos_in_response_order(bmd, tmp_path, monkeypatch):
    _, _, latents = bmd
    videos = BOLDMoments().stimulus_set()
    assert videos.modality == "video" and len(videos) == 102
    assert videos.stimulus_ids == BOLDMoments().responses("V1")["stimulus_id"].values.tolist()
    assert videos.paths[0].name == "1001.mp4" and videos.metadata["filename"][101] == "test/1102.mp4"
    np.testing.assert_allclose(quadrant_means(videos.paths[:3]), _brightness(latents[:3]), atol=3)
    with pytest.raises(OfflineError, match=f"1000 of the 1000 train videos are missing.*{STIMULUS_PAGE}"):
        BOLDMoments().stimulus_set(split="train")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(OfflineError, match=rf"videos \(stimuli/train, stimuli/test\) are not here: get them from "
                                           rf"{STIMULUS_PAGE}.*{tmp_path / 'nowhere' / 'bold_moments' / 'stimuli'}"):
        BOLDMoments().stimulus_set()


def test_checksum_mismatch_and_offline_miss_are_named(bmd, tmp_path, monkeypatch):
    root, _, _ = bmd
    name = betas_path("sub-01", "lV1v")
    corrupt = tmp_path / "corrupt"
    (corrupt / "bold_moments" / name).parent.mkdir(parents=True)
    (corrupt / "bold_moments" / name).write_bytes((root / name).read_bytes()[:-1] + b"\0")
    monkeypatch.setenv("BRAINALIGN_MIRROR", os.pathsep.join([str(corrupt), str(root.parent)]))
    with pytest.warns(UserWarning, match=f"checksum mismatch for {corrupt / 'bold_moments' / name}"):
        assert BOLDMoments().responses("V1v", hemisphere="l").shape == (102, 6, 10)  # the next mirror is good
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(corrupt))
    with pytest.warns(UserWarning), pytest.raises(ChecksumError, match="expected sha256"):
        BOLDMoments().responses("V1v", hemisphere="l")
    with pytest.raises(OfflineError, match=f"could not download {OPENNEURO}{betas_path('sub-01', 'lEBA')}.*"
                                           f"bold_moments/{betas_path('sub-01', 'lEBA')}"):
        BOLDMoments().responses("EBA")
    with pytest.raises(OfflineError, match=f"could not download {OPENNEURO}{betas_path('sub-03', 'lMT')} .*; "
                                           f"download it by hand and put it at .*{betas_path('sub-03', 'lMT')}"):
        BOLDMoments().responses("MT", subject="sub-03")


class _RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_only_arrays_and_containers_are_unpickled(bmd, tmp_path, monkeypatch):
    root, written, _ = bmd
    marker = tmp_path / "executed"
    attack = tmp_path / "attack.pkl"
    attack.write_bytes(pickle.dumps({"test_data_allvoxel": _RunsCommand(marker)}))
    with pytest.raises(UnsafePickleError, match=r"attack.pkl asks to load (os|posix)\.system, which is not allowed"):
        load_array_pickle(attack)
    assert not marker.exists()
    table = tmp_path / "table.pkl"  # any other class too, e.g. a pandas table
    table.write_bytes(pickle.dumps({"order": pd.Series(["vid1001"])}))
    with pytest.raises(UnsafePickleError, match="asks to load pandas"):
        load_array_pickle(table)
    # the loader reads the betas through the same unpickler: a dataset file carrying a command is refused
    evil_mirror = tmp_path / "evil-mirror"
    target = evil_mirror / "bold_moments" / betas_path("sub-01", "rV1v")
    target.parent.mkdir(parents=True)
    shutil.copy(attack, target)
    files = tuple(dataclasses.replace(f, sha256=_sha256(target)) if f.path == betas_path("sub-01", "rV1v") else f
                  for f in BOLDMoments.files)
    monkeypatch.setattr(BOLDMoments, "files", files)
    monkeypatch.setenv("BRAINALIGN_MIRROR", os.pathsep.join([str(evil_mirror), str(root.parent)]))
    with pytest.raises(UnsafePickleError, match="system"):
        BOLDMoments().responses("V1v")
    assert not marker.exists()
    # NumPy 1 pickles name numpy.core.*: read under NumPy 2 without its deprecation warning
    old = tmp_path / "numpy1.pkl"
    old.write_bytes(pickle.dumps(written["sub-01", "l", "V1v"], protocol=2).replace(b"numpy._core.", b"numpy.core."))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_array_pickle(old)
    np.testing.assert_array_equal(loaded["test_data_allvoxel"], written["sub-01", "l", "V1v"]["test_data_allvoxel"])
    (tmp_path / "text.pkl").write_text("not a pickle")
    with pytest.raises(InvalidInputError, match="cannot read the pickle .*text.pkl"):
        load_array_pickle(tmp_path / "text.pkl")


def test_ridge_benchmark_on_a_simulated_brain(bmd):
    _, _, latents = bmd
    responses = BOLDMoments().responses("V1")
    benchmark = get_benchmark("BOLDMoments.V1-ridge")
    features = make_features(latents, responses["stimulus_id"].values)
    score = benchmark(features)
    direct = get_metric("ridge")(features, responses, ceiling=split_half_reliability(responses))
    assert (score.value, score.raw) == (direct.value, direct.raw)
    # the voxels are linear readouts of these features plus trial noise (split-half reliability about 0.7): the
    # model explains all that is reliable, so r is the square root of the reliability and the ceiling-normalised
    # score is 1 up to sampling error; unrelated features explain nothing
    reliability = float(np.median(split_half_reliability(responses)))
    assert 0.6 < reliability < 0.85 and abs(score.raw - np.sqrt(reliability)) < 0.05
    assert 0.85 < score.value < 1.15
    unrelated = make_features(np.random.default_rng(5).normal(size=latents.shape), responses["stimulus_id"].values)
    assert abs(benchmark(unrelated).value) < 0.15


def test_score_runs_a_video_model_on_the_videos(bmd):
    from brainalign.runner.score import score

    result = score(quadrant_means, "BOLDMoments.V1-ridge", name="quadrant-means", batch_size=34)
    value = result.scores["output"].value
    assert 0.85 < value < 1.15  # the model decodes the latents from the pixels: the brain's own generator
