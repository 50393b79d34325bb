"""TVSD on a generated miniature of its GIN layout (MATLAB v7.3 files: normalised MUA, the image log with its
cell array of THINGS paths, the time-resolved trials ALLMUA/ALLMAT/tb in recording-system electrode order, and
the channel mapping): electrodes per region and monkey, test repetitions, the split-half benchmark, time bins
z-scored per day as norm_MUA.m does, and ridge per time bin peaking where the simulated signal is."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image

import brainalign.data.fetch
from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError, OfflineError, UnknownNameError
from brainalign.core.labels import make_features
from brainalign.data.datasets.tvsd import TVSD, matlab_strings
from brainalign.data.fetch import ChecksumError
from brainalign.metrics.ceilings.reliability import split_half_reliability
from brainalign.metrics.registry import get_metric

N_TEST, N_REPS, N_TRAIN, N_ELECTRODES = 24, 4, 6, 1024
TB = np.arange(-100.0, 200.0, 10.0)  # the real tb is 1 ms; 10 ms samples keep the miniature small
SIGNAL_MS = (100.0, 150.0)  # the simulated IT signal exists only in these samples


def _cell_of_strings(f: h5py.File, name: str, strings: list[str]) -> None:
    """A MATLAB v7.3 cell array (n × 1) of char arrays: references into #refs#."""
    refs = f.require_group("#refs#")
    targets = []
    for i, text in enumerate(strings):
        key = f"{name.replace('/', '_')}_{i}"
        refs[key] = np.array([[ord(c)] for c in text], dtype=np.uint16)
        targets.append(refs[key].ref)
    f.create_dataset(name, data=np.array([targets], dtype=h5py.ref_dtype))


@pytest.fixture
def tvsd(tmp_path, monkeypatch, private_cache):
    rng = np.random.default_rng(0)
    root = tmp_path / "mirror" / "tvsd"
    (root / "monkeyN" / "_logs").mkdir(parents=True)
    test = [f"thing{i}/thing{i}_01b.jpg" for i in range(N_TEST)]
    train = [f"other{i}/other{i}_02s.jpg" for i in range(N_TRAIN)]
    with h5py.File(root / "monkeyN" / "_logs" / "things_imgs.mat", "w", userblock_size=512) as f:
        _cell_of_strings(f, "test_imgs/things_path", test)
        _cell_of_strings(f, "train_imgs/things_path", train)
    latents = rng.normal(size=(N_TEST, 4))
    signal = latents @ rng.normal(size=(4, N_ELECTRODES))  # every electrode: a linear readout of 4 latents
    reps = signal[None] + 0.5 * rng.normal(size=(N_REPS, N_TEST, N_ELECTRODES))
    with h5py.File(root / "monkeyN" / "THINGS_normMUA.mat", "w", userblock_size=512) as f:
        f["test_MUA_reps"] = reps  # MATLAB [1024, 100, 30], read by h5py in reverse axis order
        f["test_MUA"] = reps.mean(0)
        f["train_MUA"] = rng.normal(size=(N_TRAIN, N_ELECTRODES))
    for path in test:
        (root / "object_images" / path).parent.mkdir(parents=True)
        Image.new("RGB", (4, 4)).save(root / "object_images" / path)
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))
    return root, reps, latents


@pytest.fixture
def trials(tvsd):
    """THINGS_MUA_trials.mat and the channel mapping: IT electrodes carry the latents only at 100-150 ms, on top
    of day-specific offsets and gains (which the per-day z-scoring removes)."""
    root, _, latents = tvsd
    rng = np.random.default_rng(1)
    image = np.concatenate([np.repeat(np.arange(N_TEST), N_REPS), -1 - np.arange(N_TRAIN)])
    image = image[rng.permutation(len(image))]  # ≥0: test image, <0: train image, shown in random order
    n = len(image)
    day = 1 + (np.arange(n) >= n // 2)
    envelope = ((SIGNAL_MS[0] <= TB) & (SIGNAL_MS[1] > TB)).astype(float)
    weights = rng.normal(size=(4, N_ELECTRODES))
    drive = np.where(image[:, None] >= 0, latents[np.maximum(image, 0)] @ weights, 0.0)  # trial × electrode
    offset, gain = rng.normal(size=(3, N_ELECTRODES)) * 5, 1 + rng.random((3, N_ELECTRODES))
    physical = (offset[day] + gain[day] * (drive[None] * envelope[:, None, None]
                                           + 0.3 * rng.normal(size=(len(TB), n, N_ELECTRODES))))
    physical[..., :768] = (offset[day] + gain[day] * rng.normal(size=(len(TB), n, N_ELECTRODES)))[..., :768]  # noise
    mapping = rng.permutation(N_ELECTRODES)  # array electrode i is recorded as electrode mapping[i]
    recorded = np.empty_like(physical)
    recorded[..., mapping] = physical
    allmat = np.stack([np.arange(1, n + 1), np.where(image < 0, -image, 0), np.where(image >= 0, image + 1, 0),
                       np.ones(n), np.ones(n), day]).astype(float)
    with h5py.File(root / "monkeyN" / "THINGS_MUA_trials.mat", "w", userblock_size=512) as f:
        f["ALLMUA"] = recorded.astype(np.float32)  # MATLAB electrode × trial × time
        f["ALLMAT"] = allmat  # MATLAB trial × [trial train_idx test_idx rep count day]
        f["tb"] = TB[:, None]  # MATLAB 1 × time
    scipy.io.savemat(root / "monkeyN" / "_logs" / "1024chns_mapping_20220105.mat", {"mapping": mapping[None] + 1.0})
    return root, physical.astype(np.float32), allmat, latents


def _day_z_scored(data: np.ndarray, allmat: np.ndarray, window_ms: tuple[int, int]) -> np.ndarray:
    """norm_MUA.m's normalisation, written directly: per electrode and day, minus the mean and over the std (ddof
    1) of that day's test trials at low < tb <= high."""
    test, day, data = allmat[2] > 0, allmat[5], data.astype(float)
    low, high = window_ms
    window = (low < TB) & (high >= TB)
    z = np.empty_like(data)
    for d in (1, 2):
        pool = data[window][:, test & (day == d)].reshape(-1, data.shape[-1])
        z[:, day == d] = (data[:, day == d] - pool.mean(0)) / pool.std(0, ddof=1)
    return z


def test_time_bins_are_day_z_scored_bin_means_of_the_array_electrodes(trials):
    _, physical, allmat, _ = trials
    it = TVSD().responses("IT", bin_ms=50)
    assert it.dims == ("stimulus", "neuroid", "repetition", "time") and it.shape == (N_TEST, 256, N_REPS, 6)
    assert it["time"].values.tolist() == [-100, -50, 0, 50, 100, 150]
    assert it["time_bin_end"].values[0] == -50 and it["electrode"].values[0] == 769
    # direct implementation of norm_MUA.m's normalisation: each day's test trials, IT window 75 < tb <= 175
    z = _day_z_scored(physical[..., 768:], allmat, (75, 175))
    for k in (0, 7):  # test image k: its trials in trial order are its repetitions
        rows = np.flatnonzero(allmat[2] == k + 1)
        expected = z[:, rows].reshape(6, 5, N_REPS, 256).mean(1).transpose(2, 1, 0)
        np.testing.assert_allclose(it.values[k], expected, rtol=1e-4, atol=1e-4)
    assert it["stimulus_id"].values.tolist() == TVSD().stimulus_set(bin_ms=50).stimulus_ids
    train = TVSD().responses("V1", split="train", bin_ms=100)  # normalised by the test trials of its day
    assert train.dims == ("stimulus", "neuroid", "time") and train.shape == (N_TRAIN, 512, 3)
    assert train["stimulus_id"].values[0] == "other0_02s"
    row = np.flatnonzero(allmat[1] == 1)[0]
    expected = _day_z_scored(physical[..., :512], allmat, (25, 125))[:, row].reshape(3, 10, 512).mean(1).T
    np.testing.assert_allclose(train.values[0], expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(InvalidInputError, match="bin_ms must be a positive number"):
        TVSD().responses("IT", bin_ms=0)


def test_ridge_per_time_bin_peaks_where_the_signal_is(trials):
    *_, latents = trials
    benchmark = get_benchmark("TVSD.IT-ridge-time")
    responses = benchmark.target_data()
    assert responses.sizes["time"] == len(TB)  # 10 ms bins of 10 ms samples
    score = benchmark(make_features(latents, responses["stimulus_id"].values))
    course, times = score.extra["time_course"], score.extra["time"]
    inside = (times >= SIGNAL_MS[0]) & (times < SIGNAL_MS[1])
    assert SIGNAL_MS[0] <= score.extra["peak_time"] < SIGNAL_MS[1] and score.value > 0.9
    assert course[inside].min() > 0.9 and np.abs(course[~inside]).max() < 0.5


def test_trial_files_corrupt_or_missing_are_named(trials, monkeypatch):
    root, *_ = trials
    TVSD().responses("V4", bin_ms=100)  # first use records the sha256 of the files
    scipy.io.savemat(root / "monkeyN" / "_logs" / "1024chns_mapping_20220105.mat", {"mapping": np.arange(1, 1025.0)})

    def offline(*args):
        raise OSError("no network")

    monkeypatch.setattr(brainalign.data.fetch, "_download", offline)
    with pytest.warns(UserWarning, match="1024chns_mapping"), pytest.raises(ChecksumError, match="expected sha256"):
        TVSD().responses("V4", bin_ms=100)
    (root / "monkeyN" / "_logs" / "1024chns_mapping_20220105.mat").unlink()
    with pytest.raises(OfflineError, match=r"gin.g-node.org/paolo_papale/TVSD/raw/master/monkeyN/_logs/1024chns_"
                                           r"mapping_20220105.mat .*download it by hand"):
        TVSD().responses("V4", bin_ms=100)


def test_electrodes_by_region_and_repetitions(tvsd):
    root, reps, _ = tvsd
    v4 = TVSD().responses("V4")  # monkey N: electrodes 513-768
    assert v4.dims == ("stimulus", "neuroid", "repetition") and v4.shape == (N_TEST, 256, N_REPS)
    np.testing.assert_allclose(v4.values, reps[:, :, 512:768].transpose(1, 2, 0), rtol=1e-6)
    assert v4["electrode"].values[[0, -1]].tolist() == [513, 768] and v4["array"].values[0] == 9
    assert v4["stimulus_id"].values[:2].tolist() == ["thing0_01b", "thing1_01b"]
    stimuli = TVSD().stimulus_set()
    assert stimuli.stimulus_ids == v4["stimulus_id"].values.tolist() and stimuli.paths[0].is_file()
    train = TVSD().responses("IT", split="train")
    assert train.dims == ("stimulus", "neuroid") and train.shape == (N_TRAIN, 256)
    with h5py.File(root / "monkeyN" / "_logs" / "things_imgs.mat") as f:
        assert matlab_strings(f, "train_imgs/things_path")[1] == "other1/other1_02s.jpg"
    with pytest.raises(UnknownNameError, match="'monkeyX'"):
        TVSD().responses("V1", monkey="monkeyX")


def test_tvsd_benchmark_uses_split_half_reliability(tvsd):
    _, _, latents = tvsd
    responses = TVSD().responses("IT")
    features = make_features(latents, responses["stimulus_id"].values)
    score = get_benchmark("TVSD.IT-ridge")(features)
    direct = get_metric("ridge")(features, responses, ceiling=split_half_reliability(responses))
    assert (score.value, score.raw) == (direct.value, direct.raw)
    assert score.raw > 0.8 and score.value > 0.8  # the electrodes are readouts of the features, plus trial noise
