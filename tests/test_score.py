"""Score: content equality, short repr, save / load round trip without pickle, labelled per-neuroid values."""

import math
import zipfile

import numpy as np
import pytest
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_responses
from brainalign.core.score import Score
from brainalign.data.synthetic import simulated_brain
from brainalign.metrics.encoding.engine import ridge_encoding


def _labelled_score():
    per_neuroid = xr.DataArray([0.5, np.nan, 0.25], dims=("neuroid",),
                               coords={"neuroid_id": ("neuroid", ["n0", "n1", "n2"]),
                                       "region": ("neuroid", ["IT", "IT", "V4"]),
                                       "subject": ("neuroid", [1, 1, 2])})
    return Score(value=0.4, raw=0.3, ceiling=0.75, error=math.nan, per_neuroid=per_neuroid,
                 per_split=np.array([0.35, 0.45]),
                 extra={"best_alphas": np.array([[1.0, 10.0]]), "n_splits": 2, "nested": {"a": np.arange(3)}},
                 provenance={"metric": "ridge", "seed": 0, "layer": None})


def test_equality_compares_arrays_and_nan():
    a, b = _labelled_score(), _labelled_score()
    assert a == b  # NaN in error and per_neuroid compares equal; arrays element-wise
    b.per_split = np.array([0.35, 0.46])
    assert a != b
    c = _labelled_score()
    c.per_neuroid = c.per_neuroid.assign_coords(region=("neuroid", ["IT", "V4", "V4"]))
    assert a != c  # labels are part of the result
    d = _labelled_score()
    d.extra["nested"]["a"] = np.arange(4)
    assert a != d
    assert Score(1.0) == Score(1.0) and Score(1.0) != Score(2.0)


def test_repr_is_short():
    text = repr(_labelled_score())
    assert text == "Score(value=0.4, raw=0.3, ceiling=0.75, per_neuroid=(3,), per_split=(2,), metric='ridge')"


def test_save_load_round_trip_without_pickle(tmp_path):
    score = _labelled_score()
    path = score.save(tmp_path / "score.npz")
    loaded = Score.load(path)
    assert loaded == score
    assert loaded.per_neuroid.region.values.tolist() == ["IT", "IT", "V4"]
    np.testing.assert_equal(loaded.as_row(), score.as_row())  # NaN error included
    with zipfile.ZipFile(path) as archive, np.load(path, allow_pickle=False) as arrays:
        assert all(name.endswith(".npy") for name in archive.namelist())
        assert all(arrays[k].dtype != object for k in arrays.files)


def test_save_refuses_objects_it_cannot_store(tmp_path):
    with pytest.raises(InvalidInputError, match="extra.model"):
        Score(1.0, extra={"model": object()}).save(tmp_path / "s.npz")
    np.savez(tmp_path / "other.npz", x=np.ones(2))
    with pytest.raises(InvalidInputError, match="not a saved Score"):
        Score.load(tmp_path / "other.npz")


def test_metric_per_neuroid_keeps_neuroid_coords():
    brain = simulated_brain(n_stimuli=80, n_features=4, n_neuroids=3, n_repetitions=2, snr=4.0, seed=1)
    responses = make_responses(brain.responses.values, brain.responses.stimulus_id.values,
                               dims=("stimulus", "neuroid", "repetition"),
                               neuroid_coords={"neuroid_id": ["a", "b", "c"], "subject": ["s1", "s1", "s2"],
                                               "region": ["IT", "V4", "IT"]})
    score = ridge_encoding(brain.features, responses)
    assert score.per_neuroid.dims == ("neuroid",)
    assert score.per_neuroid.subject.values.tolist() == ["s1", "s1", "s2"]
    assert score.per_neuroid.region.values.tolist() == ["IT", "V4", "IT"]
    assert float(score.per_neuroid.groupby("region").median().sel(region="IT")) == pytest.approx(
        np.median(score.per_neuroid.values[[0, 2]]))
    assert score.raw == pytest.approx(float(np.median(score.per_neuroid.values)))
