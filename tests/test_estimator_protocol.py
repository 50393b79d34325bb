"""The mapping estimators follow scikit-learn's protocol: sklearn's own estimator checks, clone, Pipeline,
cross_validate, NotFittedError, 1-D targets, compute settings from the context."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from brainalign.core.config import config_context
from brainalign.mapping import (
    PCA,
    IncrementalPCA,
    LinearRegression,
    NeuronToNeuron,
    PLSRegression,
    RidgeCV,
    SparseRandomProjection,
)
from brainalign.mapping.online import StreamingClassifier, StreamingRegressor
from brainalign.mapping.reduction import LayerConcat, ReducedRegression

ESTIMATORS = [RidgeCV(), RidgeCV(cv="loo", solver="kernel"), PLSRegression(n_components=1), LinearRegression(),
              NeuronToNeuron(), PCA(n_components=2), IncrementalPCA(n_components=2), SparseRandomProjection(3),
              ReducedRegression(PCA(), LinearRegression())]

# Checks excluded, and why:
EXPECTED_FAILED = {
    "check_dtype_object": "object arrays of non-numbers raise InvalidInputError (a ValueError, as every input "
                          "error here); the check wants a TypeError",
}


def _expected_failed(estimator):
    return EXPECTED_FAILED


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed)
def test_sklearn_estimator_checks(estimator, check):
    """sklearn's checks, computed in float64 (their tolerances assume it)."""
    with config_context(dtype="float64"):
        check(estimator)


def _data(n=60, p=8, m=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    return X, X @ rng.normal(size=(p, m)) + 0.1 * rng.normal(size=(n, m))


@pytest.mark.parametrize("estimator", [RidgeCV([0.1, 1.0]), PLSRegression(2), LinearRegression(), NeuronToNeuron(),
                                       ReducedRegression(PCA(4), RidgeCV([0.1, 1.0]))], ids=type)
def test_pipeline_and_cross_validate_equal_a_manual_loop(estimator):
    """Inside sklearn's Pipeline and cross_validate each fold's score is the one a manual fit gives."""
    X, Y = _data()
    folds = KFold(3, shuffle=True, random_state=0)
    with config_context(dtype="float64"):
        scores = cross_validate(make_pipeline(PCA(6), estimator), X, Y, cv=folds)["test_score"]
        manual = [clone(estimator).fit(PCA(6).fit(X[tr]).transform(X[tr]), Y[tr])
                  .score(PCA(6).fit(X[tr]).transform(X[te]), Y[te]) for tr, te in folds.split(X)]
    np.testing.assert_allclose(scores, manual, rtol=1e-12)
    assert np.all(np.isfinite(scores))


@pytest.mark.parametrize("estimator", [RidgeCV(), PLSRegression(2), LinearRegression(), NeuronToNeuron(), PCA(2),
                                       StreamingRegressor(), StreamingClassifier(),
                                       LayerConcat([4, 4], PCA(2))], ids=type)
def test_not_fitted_error_before_fit(estimator):
    method = estimator.predict if hasattr(estimator, "predict") else estimator.transform
    with pytest.raises(NotFittedError):
        method(np.ones((3, 8)))


def test_one_dimensional_target_round_trips_and_equals_sklearn():
    X, Y = _data(m=1)
    with config_context(dtype="float64"):
        ours = RidgeCV([0.5], cv="loo").fit(X, Y[:, 0]).predict(X)
    assert ours.shape == (60,)
    np.testing.assert_allclose(ours, Ridge(0.5).fit(X, Y[:, 0]).predict(X), rtol=1e-10)


def test_compute_settings_come_from_the_context_and_torch_inputs():
    torch = pytest.importorskip("torch")
    X, Y = _data()
    assert RidgeCV([1.0]).fit(X, Y).predict(X).dtype == np.float32  # the default context
    with config_context(backend="torch", dtype="float64"):
        model = RidgeCV([1.0]).fit(X, Y)
    predicted = model.predict(X)  # outside the context: the fitted arrays' settings
    assert isinstance(predicted, torch.Tensor) and predicted.dtype == torch.float64
    from_tensor = RidgeCV([1.0]).fit(torch.as_tensor(X), torch.as_tensor(Y)).predict(X)
    assert isinstance(from_tensor, torch.Tensor) and from_tensor.device.type == "cpu"
    np.testing.assert_allclose(predicted.numpy(), Ridge(1.0).fit(X, Y).predict(X), rtol=1e-10)


def test_streaming_estimators_clone_and_score_like_sklearn_estimators():
    X, Y = _data(n=200, p=4, m=1)
    model = StreamingRegressor(alpha=1.0, lr=0.05, max_epochs=300, patience=30, chunk_size=50)
    assert clone(model).get_params() == model.get_params()
    with config_context(dtype="float64"):
        scores = cross_validate(model, X, Y[:, 0], cv=KFold(2))["test_score"]
    reference = cross_validate(Ridge(1.0), X, Y[:, 0], cv=KFold(2))["test_score"]
    np.testing.assert_allclose(scores, reference, atol=1e-3)
    assert model.set_params(alpha=2.0).alpha == 2.0
