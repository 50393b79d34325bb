"""THINGS-EEG2 on a generated miniature in the OSF layout (dict .npy files, image_set folders), and the
time-resolved benchmarks against scipy (temporal RSA) and the ridge metric (per time point)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from PIL import Image

from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError, OfflineError
from brainalign.core.labels import make_features
from brainalign.data.datasets.things_eeg2 import THINGSEEG2, load_dict
from brainalign.data.fetch import ChecksumError
from brainalign.metrics.registry import get_metric

N_IMAGES, N_REPS, N_CHANNELS, N_TIMES, N_LATENT = 24, 5, 17, 8, 4
ONSET = 4  # from this time point on, the EEG carries the latents


@pytest.fixture
def eeg(tmp_path, monkeypatch, private_cache):
    rng = np.random.default_rng(0)
    root = tmp_path / "mirror" / "things_eeg2"
    (root / "preprocessed_data" / "sub-01").mkdir(parents=True)
    concepts = [f"{i:05d}_thing{i}" for i in range(N_IMAGES)]
    files = [f"thing{i}_01s.jpg" for i in range(N_IMAGES)]
    for concept, name in zip(concepts, files, strict=True):
        (root / "image_set" / "test_images" / concept).mkdir(parents=True)
        Image.new("RGB", (4, 4)).save(root / "image_set" / "test_images" / concept / name)
    np.save(root / "image_set" / "image_metadata.npy",
            {"test_img_concepts": concepts, "test_img_files": files, "train_img_concepts": [], "train_img_files": []})
    latents = rng.normal(size=(N_IMAGES, N_LATENT))
    data = rng.normal(size=(N_IMAGES, N_REPS, N_CHANNELS, N_TIMES))
    data[..., ONSET:] += 3 * (latents @ rng.normal(size=(N_LATENT, N_CHANNELS)))[:, None, :, None]
    channels = ["Pz", "P3", "P7", "O1", "Oz", "O2", "P4", "P8", "P1", "P5", "PO7", "PO3", "POz", "PO4", "PO8", "P6",
                "P2"]
    np.save(root / "preprocessed_data" / "sub-01" / "preprocessed_eeg_test.npy",
            {"preprocessed_eeg_data": data, "ch_names": channels, "times": np.linspace(-0.2, 0.5, N_TIMES)})
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))
    features = make_features(latents @ rng.normal(size=(N_LATENT, 10)), [f"test/thing{i}_01s" for i in range(N_IMAGES)])
    return root, data, features


def test_eeg_keeps_channels_repetitions_and_time(eeg):
    _, data, _ = eeg
    dataset = THINGSEEG2()
    responses = dataset.responses("occipitoparietal")
    assert responses.dims == ("stimulus", "neuroid", "repetition", "time")
    np.testing.assert_array_equal(responses.values, data.transpose(0, 2, 1, 3))
    assert responses["time"].values[[0, -1]].tolist() == [-200.0, 500.0]
    assert responses["channel"].values[4] == "Oz"
    stimuli = dataset.stimulus_set()
    assert stimuli.stimulus_ids == responses["stimulus_id"].values.tolist()
    assert stimuli.paths[3].parts[-2:] == ("00003_thing3", "thing3_01s.jpg")
    assert len(dataset.files) == 21  # 10 subjects x 2 splits + the image metadata


def test_temporal_rsa_benchmark_matches_scipy(eeg):
    _, data, features = eeg
    score = get_benchmark("THINGSEEG2.test-temporal-rsa")(features)
    model = scipy.spatial.distance.pdist(features.values, "correlation")
    expected = [scipy.stats.spearmanr(scipy.spatial.distance.pdist(data[:, :, :, t].mean(1), "correlation"),
                                      model).statistic for t in range(N_TIMES)]
    np.testing.assert_allclose(score.extra["time_course"], expected, atol=1e-6)
    assert score.value == pytest.approx(max(expected), abs=1e-6)
    assert score.extra["peak_time"] >= score.extra["time"][ONSET]  # ground truth: the latents start at ONSET
    assert max(expected[:ONSET]) < 0.3 < 0.6 < score.value


def test_ridge_per_time_point(eeg):
    _, _, features = eeg
    score = get_benchmark("THINGSEEG2.test-ridge-time")(features)
    responses = THINGSEEG2().responses("occipitoparietal").mean("repetition")
    at_peak = int(np.argmax(score.extra["time_course"]))
    assert score.value == get_metric("ridge")(features, responses.isel(time=at_peak)).value
    assert score.extra["time_course"][:ONSET].max() < 0.4 < 0.8 < score.value


def test_offline_corrupt_and_malformed_files_are_named(eeg, tmp_path, monkeypatch):
    root, _, _ = eeg
    THINGSEEG2().responses("occipitoparietal")
    eeg_file = root / "preprocessed_data" / "sub-01" / "preprocessed_eeg_test.npy"
    np.save(eeg_file, {"preprocessed_eeg_data": np.zeros(1)})
    with pytest.warns(UserWarning, match="preprocessed_eeg_test.npy"), pytest.raises(ChecksumError):
        THINGSEEG2().responses("occipitoparietal")
    with pytest.raises(InvalidInputError, match=r"keys \['preprocessed_eeg_data', 'ch_names', 'times'\]"):
        load_dict(eeg_file, ("preprocessed_eeg_data", "ch_names", "times"))
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(OfflineError, match=r"things_eeg2/image_set/image_metadata.npy is not here: download it from "
                                           r"https://osf.io/3jk45/"):
        THINGSEEG2().stimulus_set(subject="sub-02")
