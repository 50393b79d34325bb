"""TVSD on a generated miniature of its GIN layout (MATLAB v7.3 files: normalised MUA and the image log with its
cell array of THINGS paths): electrodes per region and monkey, test repetitions, the split-half benchmark."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from PIL import Image

from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import UnknownNameError
from brainalign.core.labels import make_features
from brainalign.data.datasets.tvsd import TVSD, matlab_strings
from brainalign.metrics.ceilings.reliability import split_half_reliability
from brainalign.metrics.registry import get_metric

N_TEST, N_REPS, N_TRAIN, N_ELECTRODES = 24, 4, 6, 1024


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
