"""Stacked encoding: convex weights against scipy's SLSQP, and recovery of the generating feature space."""

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import Ridge

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features, make_responses
from brainalign.mapping.cv import kfold_splits
from brainalign.mapping.reduction import concatenate_layers
from brainalign.mapping.ridge import RidgeCV
from brainalign.metrics.encoding.stacking import StackedRegression, convex_least_squares, out_of_fold_predictions
from brainalign.metrics.registry import METRICS


def _slsqp(P, y):
    k = P.shape[1]
    result = minimize(lambda w: ((y - P @ w) ** 2).sum(), np.full(k, 1 / k), method="SLSQP",
                      bounds=[(0, 1)] * k, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                      options={"ftol": 1e-14, "maxiter": 1000})
    return result.x


def test_convex_weights_match_slsqp():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(8, 60, 4))  # targets × samples × spaces
    y = P[:, :, 0] * 0.6 + P[:, :, 2] * 0.5 + rng.normal(size=(8, 60))
    ours = convex_least_squares(np.einsum("tnk,tnl->tkl", P, P), np.einsum("tnk,tn->tk", P, y))
    reference = np.stack([_slsqp(P[t], y[t]) for t in range(8)])
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert np.allclose(ours.sum(1), 1) and (ours >= 0).all()


def test_out_of_fold_predictions_match_sklearn():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(50, 4)), rng.normal(size=(50, 2))
    splits = kfold_splits(50, 5)
    with config_context(dtype="float64"):
        ours = out_of_fold_predictions(X, Y, RidgeCV([3.0]), splits)
    for train, test in splits:
        np.testing.assert_allclose(ours[test], Ridge(3.0).fit(X[train], Y[train]).predict(X[test]), atol=1e-8)


def test_stacking_weights_recover_the_generating_spaces():
    rng = np.random.default_rng(2)
    spaces = [rng.normal(size=(300, 10)) for _ in range(3)]
    signal_a, signal_c = spaces[0] @ rng.normal(size=(10, 1)), spaces[2] @ rng.normal(size=(10, 1))
    Y = np.hstack([signal_a, signal_c, signal_a / signal_a.std() + signal_c / signal_c.std()])
    Y = Y + 0.3 * Y.std(0) * rng.normal(size=Y.shape)
    with config_context(dtype="float64"):
        model = StackedRegression([10, 10, 10], RidgeCV([1.0, 10.0])).fit(np.hstack(spaces), Y)
    np.testing.assert_allclose(model.weights_[0], [1, 0, 0], atol=0.05)
    np.testing.assert_allclose(model.weights_[1], [0, 0, 1], atol=0.05)
    np.testing.assert_allclose(model.weights_[2], [0.5, 0, 0.5], atol=0.1)


def test_stacked_metric_on_concatenated_layers():
    rng = np.random.default_rng(3)
    ids = [f"s{i}" for i in range(200)]
    a, b = rng.normal(size=(200, 8)), rng.normal(size=(200, 8))
    responses = a @ rng.normal(size=(8, 4)) + 0.5 * rng.normal(size=(200, 4))
    source = concatenate_layers([make_features(a, ids, layer="a"), make_features(b, ids, layer="b")])
    assert "stacked" in METRICS
    with config_context(dtype="float64"):
        score = METRICS["stacked"](source, make_responses(responses, ids), alphas=[1.0, 10.0])
    assert score.raw > 0.9
    with pytest.raises(InvalidInputError, match="block_sizes"):
        StackedRegression([4, 5]).fit(a, responses)
