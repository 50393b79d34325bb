"""Registered encoding variants against scikit-learn fits on identical splits, and against ground truth."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from sklearn.cross_decomposition import PLSRegression as SklearnPLS
from sklearn.linear_model import LinearRegression as SklearnOLS
from sklearn.linear_model import Ridge

import brainalign.metrics.encoding.variants  # noqa: F401  (registers the metrics)
from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features, make_responses
from brainalign.data.synthetic import simulated_brain
from brainalign.mapping.cv import kfold_splits
from brainalign.metrics.registry import METRICS, get_metric

BRAIN = simulated_brain(n_stimuli=150, n_features=40, n_neuroids=6, n_repetitions=4, snr=2.0, seed=3)
X = BRAIN.features.values
Y = BRAIN.responses.values.mean(-1)
SPLITS = kfold_splits(150, 5, seed=0)


def _reference_raw(make_model, X, Y, splits=SPLITS):
    """Median over columns of the split-mean held-out Pearson r, with sklearn fits and scipy correlations."""
    r = np.array([[stats.pearsonr(p[:, j], Y[test, j])[0] for j in range(Y.shape[1])]
                  for train, test in splits
                  for p in [np.asarray(make_model().fit(X[train], Y[train]).predict(X[test])).reshape(len(test), -1)]])
    return float(np.median(r.mean(0)))


def test_registered_names():
    for name in ["pls", "ols", "neuron-to-neuron", "reverse-ridge", "bidirectional-ridge", "spantime-ridge",
                 "spantime-pls"]:
        assert name in METRICS


def test_pls_metric_matches_sklearn_pipeline():
    with config_context(dtype="float64"):
        score = get_metric("pls")(BRAIN.features, BRAIN.responses, n_components=10, splits=SPLITS)
    assert score.raw == pytest.approx(_reference_raw(lambda: SklearnPLS(10, scale=False), X, Y), abs=1e-3)
    assert score.provenance["metric"] == "pls"


def test_ols_metric_matches_sklearn_and_is_ceiling_normalised():
    with config_context(dtype="float64"):
        score = get_metric("ols")(BRAIN.features, BRAIN.responses, splits=SPLITS, ceiling=BRAIN.reliability)
    assert score.raw == pytest.approx(_reference_raw(SklearnOLS, X, Y), abs=1e-8)
    assert score.ceiling == pytest.approx(BRAIN.reliability[0])


def test_neuron_to_neuron_recovers_single_unit_tuning():
    rng = np.random.default_rng(0)
    units = rng.normal(size=(200, 50))
    noise_sd = 0.5
    responses = units[:, [4, 9, 30]] + noise_sd * rng.normal(size=(200, 3))
    ids = [f"s{i}" for i in range(200)]
    score = get_metric("neuron-to-neuron")(make_features(units, ids), make_responses(responses, ids))
    assert score.raw == pytest.approx(1 / np.sqrt(1 + noise_sd ** 2), abs=0.04)


def test_reverse_and_bidirectional_match_sklearn_ridge():
    kwargs = dict(alphas=[10.0], splits=SPLITS)
    with config_context(dtype="float64"):
        reverse = get_metric("reverse-ridge")(BRAIN.features, BRAIN.responses, **kwargs)
        both = get_metric("bidirectional-ridge")(BRAIN.features, BRAIN.responses, **kwargs)
        expected_reverse = _reference_raw(lambda: Ridge(10.0), Y, X)
    assert reverse.raw == pytest.approx(expected_reverse, abs=1e-6)
    expected_forward = _reference_raw(lambda: Ridge(10.0), X, Y)
    assert both.extra["forward"] == pytest.approx(expected_forward, abs=1e-6)
    assert both.value == pytest.approx((expected_forward + expected_reverse) / 2, abs=1e-6)


def test_spantime_treats_bins_as_samples_and_keeps_stimuli_together():
    rng = np.random.default_rng(1)
    n, bins = 100, 4
    features = rng.normal(size=(n, 8, bins))
    weights = rng.normal(size=(8, 5))
    responses = np.einsum("sut,un->snt", features, weights) + 0.3 * rng.normal(size=(n, 5, bins))
    ids = [f"s{i}" for i in range(n)]
    source = xr.DataArray(features, dims=("stimulus", "unit", "time"), coords={"stimulus_id": ("stimulus", ids)})
    target = make_responses(responses, ids, dims=("stimulus", "neuroid", "time"))
    splits = kfold_splits(n, 5, seed=0)
    with config_context(dtype="float64"):
        score = get_metric("spantime-ridge")(source, target, alphas=[1.0], splits=splits)
    flat_X = features.transpose(0, 2, 1).reshape(n * bins, 8)
    flat_Y = responses.transpose(0, 2, 1).reshape(n * bins, 5)
    sample_splits = [(np.concatenate([np.arange(s * bins, (s + 1) * bins) for s in train]),
                      np.concatenate([np.arange(s * bins, (s + 1) * bins) for s in test])) for train, test in splits]
    assert score.raw == pytest.approx(_reference_raw(lambda: Ridge(1.0), flat_X, flat_Y, sample_splits), abs=1e-6)


def test_bad_inputs_raise():
    ids = [f"s{i}" for i in range(150)]
    other = make_responses(Y, [f"x{i}" for i in range(150)])
    with pytest.raises(InvalidInputError, match="stimulus ids"):
        get_metric("pls")(make_features(X, ids), other)
    with pytest.raises(InvalidInputError, match="time"):
        get_metric("spantime-ridge")(BRAIN.features, BRAIN.responses)
    with pytest.raises(InvalidInputError, match="n_components=25"):
        get_metric("pls")(make_features(X[:, :10], ids), make_responses(Y, ids))
