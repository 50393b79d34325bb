"""OLS and neuron-to-neuron mapping against scikit-learn and scipy on identical inputs."""

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression as SklearnOLS

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.mapping.linear import LinearRegression, NeuronToNeuron


@pytest.mark.parametrize("shape", [(80, 10), (30, 60)])
def test_ols_matches_sklearn_including_minimum_norm(shape):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=shape), rng.normal(size=(shape[0], 4))
    sk = SklearnOLS().fit(X, Y)
    with config_context(dtype="float64"):
        ours = LinearRegression().fit(X, Y)
    np.testing.assert_allclose(ours.coef_, sk.coef_.T, atol=1e-8)
    np.testing.assert_allclose(ours.predict(X[:5] + 1), sk.predict(X[:5] + 1), atol=1e-8)


def test_ols_torch_backend_matches_sklearn():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(50, 5)), rng.normal(size=(50, 2))
    with config_context(backend="torch", dtype="float64"):
        ours = LinearRegression().fit(X, Y).predict(X).numpy()
    np.testing.assert_allclose(ours, SklearnOLS().fit(X, Y).predict(X), atol=1e-8)


def test_neuron_to_neuron_picks_best_train_unit_and_keeps_its_correlation():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 30))
    Y = np.stack([X[:, 7] + 0.5 * rng.normal(size=200), -X[:, 3] + 0.5 * rng.normal(size=200)], axis=1)
    train, test = slice(0, 150), slice(150, 200)
    with config_context(dtype="float64"):
        model = NeuronToNeuron().fit(X[train], Y[train])
    expected = [int(np.argmax([abs(stats.pearsonr(X[train, u], Y[train, j])[0]) for u in range(30)]))
                for j in range(2)]
    assert model.best_units_.tolist() == expected == [7, 3]
    predicted = model.predict(X[test])
    for j, unit in enumerate(expected):
        r_pred = stats.pearsonr(predicted[:, j], Y[test, j])[0]
        assert r_pred == pytest.approx(abs(stats.pearsonr(X[test, unit], Y[test, j])[0]), abs=1e-10)
    slope = stats.linregress(X[train, 7], Y[train, 0]).slope
    assert model.slope_[0] == pytest.approx(slope)


def test_nan_input_raises():
    with pytest.raises(InvalidInputError, match="NaN"):
        LinearRegression().fit(np.array([[1.0], [np.nan]]), np.ones(2))
