"""PLS regression: predictions match sklearn's PLSRegression(scale=False) on identical inputs."""

import numpy as np
import pytest
import torch
from sklearn.cross_decomposition import PLSRegression as SklearnPLS

from brainalign.core.errors import InvalidInputError
from brainalign.mapping.pls import PLSRegression


def _latent_data(n=300, p=120, m=20, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 10))
    X = latent @ rng.normal(size=(10, p)) + rng.normal(size=(n, p))
    Y = latent @ rng.normal(size=(10, m)) + 2 * rng.normal(size=(n, m))
    return X, Y


def test_multi_target_predictions_match_sklearn():
    X, Y = _latent_data()
    reference = SklearnPLS(25, scale=False).fit(X[:200], Y[:200]).predict(X[200:])
    ours = PLSRegression(25, dtype="float64").fit(X[:200], Y[:200]).predict(X[200:])
    assert np.corrcoef(reference.ravel(), ours.ravel())[0, 1] > 0.9999
    np.testing.assert_allclose(ours, reference, atol=0.02 * np.abs(reference).max())


def test_single_target_matches_sklearn_to_float_precision():
    X, Y = _latent_data(m=1)
    sk = SklearnPLS(25, scale=False).fit(X[:200], Y[:200, 0])
    ours = PLSRegression(25, dtype="float64").fit(X[:200], Y[:200, 0])
    np.testing.assert_allclose(ours.predict(X[200:]).ravel(), sk.predict(X[200:]).ravel(), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours.coef_.ravel(), sk.coef_.ravel(), rtol=1e-8, atol=1e-10)


def test_float32_and_torch_match_sklearn():
    X, Y = _latent_data(seed=1)
    reference = SklearnPLS(25, scale=False).fit(X[:200], Y[:200]).predict(X[200:])
    for backend in ("numpy", "torch"):
        ours = PLSRegression(25, backend=backend).fit(X[:200], Y[:200]).predict(X[200:])
        ours = ours.numpy() if isinstance(ours, torch.Tensor) else ours
        assert ours.dtype == np.float32
        assert np.corrcoef(reference.ravel(), ours.ravel())[0, 1] > 0.999


def test_more_targets_than_features_matches_sklearn():
    X, Y = _latent_data(n=150, p=12, m=40, seed=2)
    reference = SklearnPLS(5, scale=False).fit(X[:100], Y[:100]).predict(X[100:])
    ours = PLSRegression(5, dtype="float64").fit(X[:100], Y[:100]).predict(X[100:])
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
