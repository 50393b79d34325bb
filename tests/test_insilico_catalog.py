"""The encoder catalog (fit, publish through the mirror, load) and the `brainalign insilico` sub-app."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.cli_insilico import app
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_responses
from brainalign.core.storage import file_sha256
from brainalign.data.registry import get_dataset
from brainalign.data.stimuli import StimulusSet
from brainalign.data.synthetic import simulated_brain
from brainalign.insilico import EncodingModel
from brainalign.insilico.catalog import ENCODERS, EncoderEntry, load_encoder, local_path, register_encoder

runner = CliRunner()


@pytest.fixture
def small_entry():
    entry = register_encoder(EncoderEntry("test.V4-small", "efficientnet_lite0_random", ("blocks.2",), "Cowley2023",
                                          "V4", "210325", n_stimuli=60))
    yield entry
    ENCODERS.unregister(entry.name)


def test_published_encoder_is_fetched_from_the_mirror_and_checked(tmp_path, monkeypatch):
    brain = simulated_brain(n_stimuli=60, n_features=4, n_neuroids=2)
    encoder = EncodingModel.fit_features(brain.features, brain.responses)
    published = encoder.save(tmp_path / "mirror" / "encoders" / "test.published.safetensors")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))
    register_encoder(EncoderEntry("test.published", "none", ("x",), "Cowley2023", "V4",
                                  published_sha256=file_sha256(published)))
    try:
        np.testing.assert_array_equal(load_encoder("test.published").coef, encoder.coef)
    finally:
        ENCODERS.unregister("test.published")


def test_unfitted_unpublished_encoder_says_how_to_fit_it():
    with pytest.raises(InvalidInputError, match="brainalign insilico fit Cowley2023.V4.190923-efficientnet_lite0"):
        load_encoder("Cowley2023.V4.190923-efficientnet_lite0")


def test_cli_list_and_describe():
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0 and "Cowley2023.V4.210621-efficientnet_lite0_random" in listed.output
    described = runner.invoke(app, ["describe", "Cowley2023.V4.210325-efficientnet_lite0"])
    assert described.exit_code == 0 and '"layers": [\n    "blocks.3"' in described.output
    unknown = runner.invoke(app, ["describe", "Cowley2023.V4.210325-efficientnet_lite"])
    assert unknown.exit_code == 2 and "did you mean" in unknown.output


def test_cli_fit_then_generate_a_region_and_neuroid_subset(shared_data, small_entry, tmp_path):
    fitted = runner.invoke(app, ["fit", small_entry.name, "--batch-size", "30"])
    assert fitted.exit_code == 0, fitted.output
    encoder = EncodingModel.load(local_path(small_entry.name))
    assert encoder.metadata["dataset"] == {"name": "Cowley2023", "region": "V4", "session": "210325"}
    assert encoder.coef.shape[1] == 50 and encoder.metadata["n_stimuli"] == 60
    images = get_dataset("Cowley2023").stimulus_set("210325").paths[60:64]
    folder = tmp_path / "new"
    folder.mkdir()
    for path in images:
        (folder / path.name).write_bytes(path.read_bytes())
    output = tmp_path / "out.csv"
    result = runner.invoke(app, ["generate", small_entry.name, str(folder), "-o", str(output), "--region", "V4",
                                 "--neuroid", "210325/neuron007", "--neuroid", "210325/neuron001"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output, index_col="stimulus_id")
    assert list(table.columns) == ["210325/neuron007", "210325/neuron001"] and len(table) == 4
    direct = encoder.generate(StimulusSet.from_folder(folder), neuroids=["210325/neuron007", "210325/neuron001"])
    np.testing.assert_allclose(table.values, direct.values, rtol=1e-5)
    card = runner.invoke(app, ["describe", small_entry.name, "--plot", str(tmp_path / "accuracy.png")])
    assert card.exit_code == 0, card.output
    assert (tmp_path / "accuracy.png").stat().st_size > 1000
    assert json.loads(card.output[:card.output.rindex("}") + 1])["n_neuroids"] == 50


def test_cli_generate_writes_one_row_per_stimulus_and_time_bin(shared_data, tmp_path):
    entry = register_encoder(EncoderEntry("test.timed", "efficientnet_lite0_random", ("blocks.0",), "Cowley2023",
                                          "V4", "210325", n_stimuli=30))
    try:
        stimuli = get_dataset("Cowley2023").stimulus_set("210325")
        stimuli = stimuli.subset(stimuli.stimulus_ids[:30])
        rng = np.random.default_rng(0)
        responses = make_responses(rng.normal(size=(30, 2, 3)), stimuli.stimulus_ids,
                                   dims=("stimulus", "neuroid", "time"),
                                   neuroid_coords={"neuroid_id": ["a", "b"]}).assign_coords(time=[0, 50, 100])
        encoder = EncodingModel.fit("efficientnet_lite0_random", ["blocks.0"], stimuli, responses, batch_size=30)
        encoder.save(local_path(entry.name))
        folder = tmp_path / "new"
        folder.mkdir()
        for path in stimuli.paths[:3]:
            (folder / path.name).write_bytes(path.read_bytes())
        output = tmp_path / "timed.csv"
        result = runner.invoke(app, ["generate", entry.name, str(folder), "-o", str(output)])
        assert result.exit_code == 0, result.output
        table = pd.read_csv(output, index_col=["stimulus_id", "time"])
        assert table.shape == (9, 2) and table.index.get_level_values("time").tolist()[:3] == [0, 50, 100]
        direct = encoder.generate(StimulusSet.from_folder(folder))
        np.testing.assert_allclose(table["b"].to_numpy().reshape(3, 3), direct.sel(neuroid=1).values, rtol=1e-5)
    finally:
        local_path(entry.name).unlink(missing_ok=True)
        ENCODERS.unregister(entry.name)
