"""EncodingModel: ground truth on simulated brains, safe round trips, tampering, and real V4 data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import pearsonr

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import make_features, make_responses
from brainalign.data.stimuli import StimulusSet
from brainalign.data.synthetic import simulated_brain
from brainalign.insilico import EncodingModel, TamperedFileError


def test_generated_responses_to_new_stimuli_match_the_ground_truth():
    brain = simulated_brain(n_stimuli=400, n_features=20, n_neuroids=30, snr=2.0, seed=1)
    encoder = EncodingModel.fit_features(brain.features, brain.responses)
    new = np.random.default_rng(7).standard_normal((200, 20))
    truth = new @ brain.weights
    predicted = encoder.predict(make_features(new, [f"new{i}" for i in range(200)])).values
    correlations = [pearsonr(predicted[:, j], truth[:, j])[0] for j in range(30)]
    assert min(correlations) > 0.97
    # held-out r cannot exceed the theoretical maximum (sqrt reliability) by more than sampling noise
    assert np.all(encoder.accuracy["r"] < brain.max_correlation + 0.05)
    np.testing.assert_allclose(encoder.accuracy["r"], brain.max_correlation, atol=0.08)
    # noise-normalised explained variance of a correct linear model is close to 1
    assert abs(np.median(encoder.accuracy["explained_variance"]) - 1.0) < 0.1


def test_time_resolved_encoder_generates_each_time_bin_of_a_known_linear_brain(tmp_path):
    """Each time bin has its own ground-truth map; generated responses keep (stimulus, neuroid, time)."""
    rng = np.random.default_rng(3)
    n_stimuli, n_features, n_neuroids, times = 300, 10, 4, [0.05, 0.15, 0.25]
    X = rng.standard_normal((n_stimuli, n_features))
    weights = rng.standard_normal((len(times), n_features, n_neuroids))
    signal = np.einsum("sf,tfn->snt", X, weights)
    noisy = signal[..., None] + rng.standard_normal((*signal.shape, 4)) * signal.std() * 0.7
    ids = [f"s{i}" for i in range(n_stimuli)]
    responses = make_responses(noisy, ids, dims=("stimulus", "neuroid", "time", "repetition"),
                               neuroid_coords={"neuroid_id": [f"n{j}" for j in range(n_neuroids)]})
    responses = responses.assign_coords(time=times)
    encoder = EncodingModel.fit_features(make_features(X, ids), responses)
    assert encoder.accuracy["r"].shape == (n_neuroids, len(times))
    assert encoder.accuracy["explained_variance"].shape == (n_neuroids, len(times))
    new = rng.standard_normal((100, n_features))
    generated = encoder.predict(make_features(new, [f"new{i}" for i in range(100)]))
    assert generated.dims == ("stimulus", "neuroid", "time")
    assert generated["time"].values.tolist() == times
    truth = np.einsum("sf,tfn->snt", new, weights)
    for j in range(n_neuroids):
        for t in range(len(times)):
            assert pearsonr(generated.values[:, j, t], truth[:, j, t])[0] > 0.97
    loaded = EncodingModel.load(encoder.save(tmp_path / "timed.safetensors"))
    subset = loaded.predict(make_features(new, [f"new{i}" for i in range(100)]), neuroids=["n3", "n1"])
    np.testing.assert_array_equal(subset.values, generated.values[:, [3, 1], :])
    assert loaded.model_card()["n_neuroids"] == n_neuroids and loaded.model_card()["time_bins"] == times


def _tiny_setup(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(40):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"im{i:02d}.png")
    stimuli = StimulusSet.from_folder(folder, identifier="noise")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.ReLU(), torch.nn.Flatten())
    responses = make_responses(rng.normal(size=(40, 6, 3)), stimuli.stimulus_ids,
                               dims=("stimulus", "neuroid", "repetition"),
                               neuroid_coords={"neuroid_id": [f"n{j}" for j in range(6)],
                                               "region": ["V1"] * 3 + ["V4"] * 3})
    return net, stimuli, responses


def test_fit_save_load_generate_round_trip_is_identical(tmp_path):
    net, stimuli, responses = _tiny_setup(tmp_path)
    with pytest.warns(RuntimeWarning, match="reliability"):
        encoder = EncodingModel.fit(net, ["2"], stimuli, responses, batch_size=7)
    before = encoder.generate(stimuli)
    loaded = EncodingModel.load(encoder.save(tmp_path / "enc.safetensors"))
    after = loaded.generate(stimuli)
    np.testing.assert_array_equal(before.values, after.values)
    assert after["neuroid_id"].values.tolist() == [f"n{j}" for j in range(6)]
    assert loaded.metadata["layers"] == ["2"] and loaded.metadata["weights_checksum"]
    np.testing.assert_array_equal(loaded.accuracy["r"], encoder.accuracy["r"])
    v4 = loaded.generate(stimuli, region="V4")
    np.testing.assert_array_equal(v4.values, after.values[:, 3:])
    assert loaded.generate(stimuli, neuroids=["n5", "n0"])["neuroid_id"].values.tolist() == ["n5", "n0"]
    with pytest.raises(UnknownNameError, match="V2"):
        loaded.generate(stimuli, region="V2")


def test_tampered_file_fails_clearly(tmp_path):
    brain = simulated_brain(n_stimuli=60, n_features=4, n_neuroids=2)
    path = EncodingModel.fit_features(brain.features, brain.responses).save(tmp_path / "enc.safetensors")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # flip bits inside the last array
    path.write_bytes(bytes(data))
    with pytest.raises(TamperedFileError, match="sha256"):
        EncodingModel.load(path)
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(TamperedFileError, match="junk"):
        EncodingModel.load(tmp_path / "junk.safetensors")


def test_predict_rejects_features_of_another_width():
    brain = simulated_brain(n_stimuli=60, n_features=4, n_neuroids=2)
    encoder = EncodingModel.fit_features(brain.features, brain.responses)
    with pytest.raises(InvalidInputError, match="3 units"):
        encoder.predict(make_features(np.zeros((5, 3)), list("abcde")))


def test_trained_model_beats_its_random_twin_on_held_out_v4(shared_data):
    from brainalign.data.registry import get_dataset

    dataset = get_dataset("Cowley2023")
    stimuli = dataset.stimulus_set("210325")
    stimuli = stimuli.subset(stimuli.stimulus_ids[:200])
    responses = dataset.responses("V4", "210325").isel(stimulus=slice(0, 200))
    accuracy = {}
    for model in ("efficientnet_lite0", "efficientnet_lite0_random"):
        encoder = EncodingModel.fit(model, ["blocks.3"], stimuli, responses, batch_size=50,
                                    dataset={"name": "Cowley2023", "session": "210325", "region": "V4"})
        accuracy[model] = np.median(encoder.accuracy["r"])
    assert accuracy["efficientnet_lite0"] > accuracy["efficientnet_lite0_random"] + 0.1, accuracy
