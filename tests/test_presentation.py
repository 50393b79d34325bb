"""Brain-Score's presentation in `score`: the model sees the whole stimulus (a corner marker reaches its input),
placed at the benchmark's visual degrees with gray padding; presented and plain features and rows never mix.
Brain-Score's PCA before the mapping, fitted on a folder of images, against scikit-learn."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.score import Score
from brainalign.data.stimuli import StimulusSet
from brainalign.models.extractor import Extractor
from brainalign.models.feature_cache import feature_key
from brainalign.models.loading import load_model
from brainalign.models.screen import BACKGROUND, present
from brainalign.models.sources.base import ImagePreprocessing
from brainalign.runner.score import extraction, row_key, score

SIZE = 16  # the probe's input; its catalog-style preprocessing resizes to 24 and crops the central 16


@dataclass
class Probe:
    """A minimal benchmark that keeps the features it was given."""

    stimuli: StimulusSet
    presentation_degrees: float | None
    identifier: str = "probe"
    version: int = 1
    target: str = "responses"
    seen: list = field(default_factory=list)

    def stimulus_set(self) -> StimulusSet:
        return self.stimuli

    def __call__(self, features):
        self.seen.append(np.asarray(features.values))
        return Score(0.0)

    def options(self) -> str:
        return json.dumps({"presentation_degrees": self.presentation_degrees})


@pytest.fixture
def marked(tmp_path) -> StimulusSet:
    """A white 32-pixel stimulus with a red 4 x 4 marker in its top-left corner."""
    image = Image.new("RGB", (32, 32), "white")
    image.paste((255, 0, 0), (0, 0, 4, 4))
    image.save(tmp_path / "marked.png")
    return StimulusSet.from_folder(tmp_path, identifier="marked")


@pytest.fixture(scope="module")
def pixels():
    """A model whose only layer is its input (identity), with a 0.67 resize-then-crop preprocessing."""
    module = torch.nn.Sequential()
    module.add_module("pixels", torch.nn.Identity())
    return load_model(module, identifier="pixels-probe", layers=["pixels"],
                      preprocessing=ImagePreprocessing(SIZE, 24, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)))


def test_the_model_sees_the_corner_marker_only_when_presented(marked, pixels):
    plain = Extractor(pixels, layers=["pixels"], cache=False, progress=False).extract(marked)["pixels"]
    corner = plain.values.reshape(3, SIZE, SIZE)[:, 0, 0]
    np.testing.assert_allclose(corner, [1.0, 1.0, 1.0], atol=0.02)  # the crop cut the marker away

    probe = Probe(marked, presentation_degrees=8)
    score(pixels, probe, ["pixels"])
    seen = probe.seen[0][0].reshape(3, SIZE, SIZE)
    np.testing.assert_allclose(seen[:, 0, 0], [1.0, 0.0, 0.0], atol=0.02)  # marker reaches the model input
    np.testing.assert_allclose(seen[:, SIZE - 1, SIZE - 1], [1.0, 1.0, 1.0], atol=0.02)


def test_a_smaller_stimulus_sits_in_the_middle_of_a_gray_field(marked, pixels):
    probe = Probe(marked, presentation_degrees=4)  # half the model's 8 degrees: a 64-pixel gray canvas
    score(pixels, probe, ["pixels"])
    seen = probe.seen[0][0].reshape(3, SIZE, SIZE)
    gray = np.array(BACKGROUND) / 255
    for row, col in ((0, 0), (0, SIZE - 1), (SIZE - 1, 0), (SIZE - 1, SIZE - 1)):
        np.testing.assert_allclose(seen[:, row, col], gray, atol=0.02)
    np.testing.assert_allclose(seen[:, SIZE // 2, SIZE // 2], [1.0, 1.0, 1.0], atol=0.02)
    marker = seen[:, SIZE // 4, SIZE // 4]  # the stimulus's corner, a quarter of the way in
    assert marker[0] > 0.8 and marker[0] - marker[1] > 0.3  # red, blurred a little by the resize


def test_presented_features_and_rows_have_their_own_keys(marked, pixels):
    shown, placed = present(pixels, marked, 8)
    assert placed is marked  # same angle: the same images, only the preprocessing changes
    assert shown.preprocessing.function.resize_size == SIZE and pixels.preprocessing.function.resize_size == 24
    assert feature_key(shown, "pixels", placed) != feature_key(pixels, "pixels", marked)
    shown4, placed4 = present(pixels, marked, 4)
    assert feature_key(shown4, "pixels", placed4) != feature_key(shown, "pixels", placed)

    pls, ridge = get_benchmark("Cowley2023.V4-pls"), get_benchmark("Cowley2023.V4-ridge")
    assert (pls.presentation_degrees, pls.version) == (8.0, 2)
    assert (ridge.presentation_degrees, ridge.version) == (None, 1) and "presentation" not in ridge.options()
    assert json.loads(pls.options())["presentation_degrees"] == 8.0
    keys = {degrees: row_key("m", "c", pls, "l", extraction(pls, model_degrees=degrees))["metric_options"]
            for degrees in (8, 10)}
    assert keys[8] != keys[10] and json.loads(keys[8])["model_degrees"] == 8.0
    assert row_key("m", "c", ridge, "l", extraction(ridge))["metric_options"] == ridge.options()


def _noise_folder(folder, n, seed):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_pca_fitted_on_a_folder_reduces_every_layer_as_sklearn_does(marked, pixels, tmp_path):
    from sklearn.decomposition import PCA

    from brainalign.benchmarks.brainscore_protocol import brain_score_pca

    fit_folder = _noise_folder(tmp_path / "fit", 6, seed=0)
    probe = Probe(marked, presentation_degrees=None)
    results = score(pixels, probe, ["pixels"], pca=brain_score_pca(fit_folder, n_components=3))
    reduced = probe.seen[0]
    assert reduced.shape == (1, 3)

    def pixel_features(stimuli):
        return Extractor(pixels, layers=["pixels"], cache=False, progress=False).extract(stimuli)["pixels"].values

    reference = PCA(3).fit(pixel_features(StimulusSet.from_folder(fit_folder)))
    np.testing.assert_allclose(np.abs(reduced), np.abs(reference.transform(pixel_features(marked))), atol=1e-3)

    other = brain_score_pca(_noise_folder(tmp_path / "other", 6, seed=1), n_components=3)
    keys = {json.loads(row_key("m", "c", probe, "l", extraction(probe, p))["metric_options"]).get("pca")
            for p in (None, brain_score_pca(fit_folder, n_components=3), brain_score_pca(fit_folder), other)}
    assert len(keys) == 4 and None in keys
    assert results.extraction == extraction(probe, brain_score_pca(fit_folder, n_components=3))


@pytest.mark.slow
def test_score_cli_reduces_with_a_pca_folder_and_keys_rows_by_it(shared_data, tmp_path):
    from typer.testing import CliRunner

    from brainalign.cli import app

    (tmp_path / "net.py").write_text("import torch\n\n\ndef net():\n    torch.manual_seed(0)\n"
                                     "    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 16, stride=16), "
                                     "torch.nn.Flatten())\n")
    folder = _noise_folder(tmp_path / "fit", 5, seed=2)
    output = tmp_path / "scores.csv"
    result = CliRunner().invoke(app, ["score", "-m", f"{tmp_path / 'net.py'}:net", "-b", "Kriegeskorte2008.mIT-rsa",
                                      "-l", "1", "--pca-images", str(folder), "--pca-components", "3",
                                      "-o", str(output)])
    assert result.exit_code == 0, result.output
    row = pd.read_csv(output).iloc[0]
    assert "pca" in json.loads(row.metric_options) and -1 <= row.score <= 1
    result = CliRunner().invoke(app, ["score", "-m", f"{tmp_path / 'net.py'}:net", "-b", "Kriegeskorte2008.mIT-rsa",
                                      "--pca-images", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "does not exist" in result.output
