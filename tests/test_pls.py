"""PLS regression: predictions match sklearn's PLSRegression(scale=False) on identical inputs."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.cross_decomposition import PLSRegression as SklearnPLS

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.mapping.pls import PLSRegression


def fit64(model, X, Y):
    """Fit in float64 (sklearn computes in float64)."""
    with config_context(dtype="float64"):
        return model.fit(X, Y)


def _latent_data(n=300, p=120, m=20, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 10))
    X = latent @ rng.normal(size=(10, p)) + rng.normal(size=(n, p))
    Y = latent @ rng.normal(size=(10, m)) + 2 * rng.normal(size=(n, m))
    return X, Y


def test_multi_target_predictions_match_sklearn():
    X, Y = _latent_data()
    reference = SklearnPLS(25, scale=False).fit(X[:200], Y[:200]).predict(X[200:])
    ours = fit64(PLSRegression(25), X[:200], Y[:200]).predict(X[200:])
    assert np.corrcoef(reference.ravel(), ours.ravel())[0, 1] > 0.9999
    np.testing.assert_allclose(ours, reference, atol=0.02 * np.abs(reference).max())


def test_single_target_matches_sklearn_to_float_precision():
    X, Y = _latent_data(m=1)
    sk = SklearnPLS(25, scale=False).fit(X[:200], Y[:200, 0])
    ours = fit64(PLSRegression(25), X[:200], Y[:200, 0])
    np.testing.assert_allclose(ours.predict(X[200:]).ravel(), sk.predict(X[200:]).ravel(), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours.coef_.ravel(), sk.coef_.ravel(), rtol=1e-8, atol=1e-10)


def test_float32_and_torch_match_sklearn():
    X, Y = _latent_data(seed=1)
    reference = SklearnPLS(25, scale=False).fit(X[:200], Y[:200]).predict(X[200:])
    for backend in ("numpy", "torch"):
        with config_context(backend=backend):
            ours = PLSRegression(25).fit(X[:200], Y[:200]).predict(X[200:])
        ours = ours.numpy() if isinstance(ours, torch.Tensor) else ours
        assert ours.dtype == np.float32
        assert np.corrcoef(reference.ravel(), ours.ravel())[0, 1] > 0.999


def test_more_targets_than_features_matches_sklearn():
    X, Y = _latent_data(n=150, p=12, m=40, seed=2)
    reference = SklearnPLS(5, scale=False).fit(X[:100], Y[:100]).predict(X[100:])
    ours = fit64(PLSRegression(5), X[:100], Y[:100]).predict(X[100:])
    assert np.corrcoef(reference.ravel(), ours.ravel())[0, 1] > 0.9999


def test_bad_inputs_raise_clear_errors():
    X, Y = _latent_data(n=20, p=30)
    with pytest.raises(InvalidInputError, match="n_components=25"):
        PLSRegression(25).fit(X, Y)
    X[3, 4] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        PLSRegression(2).fit(X, Y)
    with pytest.raises(InvalidInputError, match="Y must have shape"):
        PLSRegression(2).fit(np.ones((20, 3)), np.ones((19, 2)))


def test_constant_features_raise_a_clear_error():
    """Every feature constant (e.g. a dead layer): an InvalidInputError, not a LinAlgError from eigh."""
    _, Y = _latent_data(n=30, p=5)
    with pytest.raises(InvalidInputError, match="X has no variance: all 5 feature columns are constant"):
        PLSRegression(2).fit(np.ones((30, 5)), Y)


def test_constant_targets_are_predicted_as_constants_with_one_warning():
    """All targets constant: no component, zero weights, predictions the constants — as sklearn (which
    also warns); one warning, no LinAlgError."""
    X, _ = _latent_data(n=30, p=5)
    Y = np.tile([1.5, -2.0, 7.0], (30, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = fit64(PLSRegression(2), X, Y)
    assert [str(w.message) for w in caught] == [
        "PLSRegression: all 3 targets are constant; no component was fitted and the predictions are the constants"]
    assert ours.n_components_ == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = SklearnPLS(2, scale=False).fit(X, Y).predict(X[:4])
    np.testing.assert_array_equal(ours.predict(X[:4]), reference)


def test_constant_columns_among_varying_ones_match_sklearn():
    X, Y = _latent_data(n=60, p=8, m=3, seed=4)
    X[:, 2], Y[:, 1] = 3.0, -1.0
    ours = fit64(PLSRegression(4), X[:40], Y[:40]).predict(X[40:])
    reference = SklearnPLS(4, scale=False).fit(X[:40], Y[:40]).predict(X[40:])
    np.testing.assert_array_equal(ours[:, 1], -1.0)  # the constant target, exactly
    # other targets: NIPALS converges to the same model only approximately with several targets (see above)
    np.testing.assert_allclose(ours, reference, atol=0.02 * np.abs(reference).max())
