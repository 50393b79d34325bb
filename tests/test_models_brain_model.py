"""Stimulus placement at visual degrees (pixel checks) and the `BrainModel` adapter (layer commitment, look_at)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.extractor import Extractor
from brainalign.models.loading import ImagePreprocessing, load_model
from brainalign.models.screen import BACKGROUND, on_screen, place_on_screen
from brainalign.runner.brain_model import BrainModel

GRAY = np.array(BACKGROUND, dtype=np.uint8)


def _pattern(width: int, height: int) -> Image.Image:
    """Every pixel distinct enough to locate a crop: red = column, green = row."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[..., 0] = np.arange(width)[None, :]
    pixels[..., 1] = np.arange(height)[:, None]
    pixels[..., 2] = 255
    return Image.fromarray(pixels)


def test_larger_field_of_view_pads_with_gray_around_the_centred_image():
    image = _pattern(40, 20)
    placed = np.asarray(on_screen(image, stimulus_degrees=4, model_degrees=6))  # ratio 1.5
    assert placed.shape == (30, 60, 3)
    np.testing.assert_array_equal(placed[5:25, 10:50], np.asarray(image))
    mask = np.ones(placed.shape[:2], dtype=bool)
    mask[5:25, 10:50] = False
    assert (placed[mask] == GRAY).all()


def test_smaller_field_of_view_crops_the_centre():
    image = _pattern(40, 20)
    placed = np.asarray(on_screen(image, stimulus_degrees=8, model_degrees=4))  # ratio 0.5
    np.testing.assert_array_equal(placed, np.asarray(image)[5:15, 10:30])


def test_place_on_screen_keeps_ids_and_writes_placed_images(tmp_path):
    for name in ("a", "b"):
        _pattern(20, 20).save(tmp_path / f"{name}.png")
    stimuli = StimulusSet.from_folder(tmp_path, identifier="demo")
    assert place_on_screen(stimuli, 8, 8) is stimuli
    placed = place_on_screen(stimuli, stimulus_degrees=4, model_degrees=8)
    assert placed.stimulus_ids == stimuli.stimulus_ids and placed.identifier == "demo--target8--source4"
    assert placed.fingerprint() != stimuli.fingerprint()
    pixels = np.asarray(placed.load_image(1))
    assert pixels.shape == (40, 40, 3) and (pixels[0, 0] == GRAY).all()
    np.testing.assert_array_equal(pixels[10:30, 10:30], np.asarray(_pattern(20, 20)))
    with pytest.raises(InvalidInputError, match="stimulus_degrees must be a positive visual angle; got 0"):
        place_on_screen(stimuli, 0, 8)


@pytest.fixture(scope="module")
def committed(shared_data):
    loaded = dataclasses.replace(load_model("efficientnet_lite0"), preprocessing=ImagePreprocessing(128, 146))
    model = BrainModel(loaded, visual_degrees=8, batch_size=46)
    scores = model.commit("Kriegeskorte2008.mIT-rsa", layers=["blocks.1", "blocks.6"])
    return model, scores


@pytest.mark.slow
def test_commit_chooses_the_layer_whose_rdm_best_matches_monkey_it(committed):
    model, scores = committed
    benchmark = get_benchmark("Kriegeskorte2008.mIT-rsa")
    placed = place_on_screen(benchmark.stimulus_set(), stimulus_degrees=2.9, model_degrees=8)
    features = Extractor(model.model, layers=["blocks.1", "blocks.6"], batch_size=46, progress=False).extract(placed)
    target = benchmark.target_data().reorder(placed.stimulus_ids)
    upper = np.triu_indices(len(placed), k=1)
    expected = {}
    for layer, values in features.items():
        model_rdm = 1 - np.corrcoef(values.values.astype(np.float64))
        expected[layer] = stats.spearmanr(model_rdm[upper], target.square()[0][upper]).statistic
        assert scores.scores[layer].raw == pytest.approx(expected[layer], abs=1e-4)
    assert model.region_layers == {"mIT": max(expected, key=expected.get)}
    assert scores.best_layer == max(expected, key=expected.get)


@pytest.mark.slow
def test_look_at_returns_the_committed_layer_for_each_trial_and_time_bin(committed, tmp_path):
    model, _ = committed
    for i in range(3):
        _pattern(30 + i, 30).save(tmp_path / f"s{i}.png")
    stimuli = StimulusSet.from_folder(tmp_path, identifier="probe")
    with pytest.raises(InvalidInputError, match="call start_recording"):
        BrainModel(model.model, region_layers=model.region_layers).look_at(stimuli)
    with pytest.raises(UnknownNameError, match="unknown committed region 'V1'"):
        model.start_recording("V1")
    model.start_recording("mIT", time_bins=[(70, 170), (170, 270)])
    responses = model.look_at(stimuli, number_of_trials=2, stimulus_degrees=4)
    layer = model.region_layers["mIT"]
    expected = Extractor(model.model, layers=[layer], cache=False, progress=False).extract(
        place_on_screen(stimuli, 4, 8))[layer].values
    assert responses.dims == ("stimulus", "neuroid", "repetition", "time")
    assert responses.shape == (3, expected.shape[1], 2, 2)
    assert set(responses["region"].values) == {"mIT"} and set(responses["layer"].values) == {layer}
    assert responses["time_bin_start"].values.tolist() == [70, 170]
    for trial in range(2):
        for time_bin in range(2):
            np.testing.assert_array_equal(responses.values[:, :, trial, time_bin], expected)
