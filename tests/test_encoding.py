"""Encoding metric: Pearson r against scipy, the generic CV loop against scikit-learn, ridge scores against
the known answer of simulated brains, and clear errors."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features, make_responses
from brainalign.data.synthetic import simulated_brain
from brainalign.mapping.correlation import pearson_r
from brainalign.mapping.cv import kfold_splits
from brainalign.metrics.ceilings.reliability import split_half_reliability
from brainalign.metrics.encoding.engine import (
    cross_validated_predictions,
    encoding_matrices,
    ridge_encoding,
    score_correlations,
)
from brainalign.metrics.registry import METRICS

SNRS = np.repeat([0.25, 1.0, 4.0], 4)


@pytest.fixture(scope="module")
def brain():
    return simulated_brain(n_stimuli=1000, n_features=4, n_neuroids=len(SNRS), n_repetitions=4, snr=SNRS, seed=3)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_pearson_r_equals_scipy(backend):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    y[:, 0] += 3 * x[:, 0]
    expected = [stats.pearsonr(x[:, j], y[:, j])[0] for j in range(5)]
    if backend == "torch":
        torch = pytest.importorskip("torch")
        x, y = torch.as_tensor(x), torch.as_tensor(y)
    np.testing.assert_allclose(np.asarray(pearson_r(x, y)), expected, rtol=1e-12)


def test_pearson_r_constant_columns_are_nan_with_one_warning_and_omit_skips_nan():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    y[:, 1] = 2.0
    with pytest.warns(RuntimeWarning, match="1 of 3 columns are constant"):
        r = pearson_r(x, y)
    assert np.isnan(r[1]) and np.isfinite(r[[0, 2]]).all()
    x[:5, 0] = np.nan
    omitted = pearson_r(x[:, [0]], y[:, [0]], nan_policy="omit")
    np.testing.assert_allclose(omitted, [stats.pearsonr(x[5:, 0], y[5:, 0])[0]], rtol=1e-12)


def test_generic_loop_equals_sklearn_by_hand(brain):
    splits = kfold_splits(1000, 4, seed=5)
    X, Y = brain.features.values, brain.responses.values.mean(axis=2)
    estimator = LinearRegression()  # any scikit-learn estimator: the engine clones it per split
    with config_context(dtype="float64"):
        result = cross_validated_predictions(estimator, *encoding_matrices(brain.features, brain.responses), splits)
    assert not hasattr(estimator, "coef_")  # the given estimator is never fitted
    for k, (train, test) in enumerate(splits):
        predictions = LinearRegression().fit(X[train], Y[train]).predict(X[test])
        expected = [stats.pearsonr(predictions[:, j], Y[test, j])[0] for j in range(Y.shape[1])]
        np.testing.assert_allclose(result.correlations()[k], expected, rtol=1e-9)


def test_raw_correlation_matches_theory(brain):
    score = ridge_encoding(brain.features, brain.responses)
    # with 1000 stimuli and 4 features the fit is near perfect: r_i ≈ sqrt(reliability_i)
    np.testing.assert_allclose(score.per_neuroid, brain.max_correlation, atol=0.04)
    assert score.raw == pytest.approx(np.median(brain.max_correlation), abs=0.02)
    assert METRICS["ridge"] is ridge_encoding


def test_perfect_model_normalises_to_one_and_random_features_to_zero(brain):
    ceiling = split_half_reliability(brain.responses)
    perfect = ridge_encoding(brain.features, brain.responses, ceiling=ceiling)
    assert perfect.value == pytest.approx(1.0, abs=0.05)
    assert perfect.ceiling == pytest.approx(np.median(brain.reliability), abs=0.03)
    assert 0 < perfect.error < 0.05 and perfect.per_split.shape == (5,)
    noise = np.random.default_rng(9).normal(size=(1000, 20))
    random = ridge_encoding(make_features(noise, brain.features.stimulus_id.values), brain.responses, ceiling=ceiling)
    assert abs(random.value) < 0.02


def test_score_fields_follow_the_convention():
    correlations = np.array([[0.4, 0.5, 0.9], [0.6, 0.7, 0.9]])
    score = score_correlations(correlations, ceiling=np.array([0.25, 0.49, -0.1]))
    assert score.extra["n_dropped_ceiling"] == 1
    assert score.value == pytest.approx(np.median([0.5 ** 2 / 0.25, 0.6 ** 2 / 0.49]))
    assert score.raw == pytest.approx(0.6) and score.ceiling == pytest.approx(0.37)
    per_split = [np.median([0.4 ** 2 / 0.25, 0.5 ** 2 / 0.49]), np.median([0.6 ** 2 / 0.25, 0.7 ** 2 / 0.49])]
    assert score.error == pytest.approx(stats.sem(per_split))


def test_constant_target_gives_nan_with_a_warning(brain):
    values = brain.responses.values.copy()
    values[:, :, :] = 1.0
    with pytest.warns(RuntimeWarning, match="constant"):
        score = ridge_encoding(brain.features, brain.responses.copy(data=values))
    assert np.isnan(score.value) and score.extra["n_neuroids_nan"] == len(SNRS)


def test_clear_errors_for_bad_inputs(brain):
    responses = brain.responses.copy(data=brain.responses.values.copy())
    responses.values[7, 2, :] = np.nan  # every repetition missing
    with pytest.raises(InvalidInputError, match="NaN"):
        ridge_encoding(brain.features, responses)
    shifted = make_features(brain.features.values, [f"other{i}" for i in range(1000)])
    with pytest.raises(InvalidInputError, match="stimulus ids of source and target differ"):
        ridge_encoding(shifted, brain.responses)
    ids = [f"s{i}" for i in range(3)]
    with pytest.raises(InvalidInputError, match="cannot make 5 folds from 3 stimuli"):
        ridge_encoding(make_features(np.eye(3), ids), make_responses(np.eye(3), ids))
    with pytest.raises(InvalidInputError, match="one value per neuroid"):
        ridge_encoding(brain.features, brain.responses, ceiling=np.ones(3))


def test_missing_repetitions_are_averaged_over_the_available_ones():
    ids = [f"s{i}" for i in range(40)]
    x = np.random.default_rng(4).normal(size=(40, 2))
    trials = np.stack([x[:, :1], x[:, :1], np.full((40, 1), np.nan)], axis=2)  # third repeat missing
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no all-NaN or constant warnings leak out
        score = ridge_encoding(make_features(x, ids), make_responses(trials, ids, dims=("stimulus", "neuroid",
                                                                                         "repetition")))
    assert score.raw == pytest.approx(1.0, abs=1e-3)


def test_torch_compute_context_gives_the_numpy_score(brain):
    pytest.importorskip("torch")
    with config_context(dtype="float64"):
        numpy_score = ridge_encoding(brain.features, brain.responses, alphas=[0.1, 10.0])
    with config_context(backend="torch", dtype="float64"):
        torch_score = ridge_encoding(brain.features, brain.responses, alphas=[0.1, 10.0])
    np.testing.assert_allclose(torch_score.per_neuroid.values, numpy_score.per_neuroid.values, rtol=1e-10)
    assert torch_score.provenance["backend"] == "torch" and numpy_score.provenance["backend"] == "numpy"
    np.testing.assert_array_equal(torch_score.extra["best_alphas"], numpy_score.extra["best_alphas"])
