"""Streaming models converge to closed-form ridge / logistic regression; kernel streaming matches sklearn."""

import h5py
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.mapping.online import (
    RowChunks,
    StreamingClassifier,
    StreamingRegressor,
    accumulate_kernel,
    kernel_ridge_scores,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(300, 12)) + 1.0
Y = X @ RNG.normal(size=(12, 3)) + RNG.normal(size=(300, 3)) + 5.0


def test_streaming_regressor_converges_to_closed_form_ridge_from_hdf5(tmp_path):
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f["X"], f["Y"] = X, Y
    with h5py.File(tmp_path / "data.h5", "r") as f:
        chunks = RowChunks(f["X"], f["Y"], chunk_size=50, shuffle=True)
        with config_context(dtype="float64"):
            model = StreamingRegressor(alpha=30.0, lr=0.05, max_epochs=400, patience=30).fit(chunks)
    ridge = Ridge(alpha=30.0).fit(X, Y)
    np.testing.assert_allclose(model.coef_, ridge.coef_.T, atol=2e-3)
    np.testing.assert_allclose(model.intercept_, ridge.intercept_, atol=2e-2)


def test_early_stopping_on_validation_stream_keeps_best_epoch():
    train, validation = RowChunks(X, Y, chunk_size=64).split(0.2, seed=1)
    assert len(train) == 240 and len(validation) == 60
    assert not set(train.rows) & set(validation.rows)
    model = StreamingRegressor(alpha=1.0, lr=0.05, max_epochs=300, patience=5).fit(train, validation=validation)
    assert model.n_epochs_ < 300
    predictions = model.predict(X[validation.rows])
    reference = Ridge(alpha=1.0).fit(X[train.rows], Y[train.rows]).predict(X[validation.rows])
    assert np.corrcoef(predictions.ravel(), reference.ravel())[0, 1] > 0.999


@pytest.mark.slow
def test_streaming_classifier_matches_logistic_regression():
    labels = np.argmax(X[:, :3] + 0.5 * RNG.normal(size=(300, 3)), axis=1)
    alpha = 2.0
    model = StreamingClassifier(alpha=alpha, lr=0.05, max_epochs=400, patience=30, chunk_size=100)
    with config_context(dtype="float64"):
        model.fit(X, labels)
    reference = LogisticRegression(C=1 / (2 * alpha), tol=1e-10, max_iter=5000).fit(X, labels)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=5e-3)


def test_kernel_accumulation_and_streamed_kernel_ridge_match_sklearn(tmp_path):
    features = RNG.normal(size=(80, 500))
    targets = features[:, :40] @ RNG.normal(size=(40, 7)) + RNG.normal(size=(80, 7))
    with h5py.File(tmp_path / "features.h5", "w") as f:
        f.create_dataset("X", data=features, chunks=(80, 64))
        f["Y"] = targets
    with h5py.File(tmp_path / "features.h5", "r") as f, config_context(dtype="float64"):
        kernel = accumulate_kernel(f["X"], block_size=64)
        r, alpha = kernel_ridge_scores(kernel, f["Y"], np.arange(60), np.arange(60, 80), alphas=[300.0], chunk_size=3)
    np.testing.assert_allclose(kernel, features @ features.T, rtol=1e-10)
    reference = Ridge(alpha=300.0).fit(features[:60], targets[:60]).predict(features[60:])
    expected = [np.corrcoef(reference[:, j], targets[60:, j])[0, 1] for j in range(7)]
    np.testing.assert_allclose(r, expected, atol=1e-8)
    assert (alpha == 300.0).all()


def test_streamed_kernel_ridge_chooses_alphas_from_a_grid_as_sklearn(tmp_path):
    """Several alphas: the per-target choice (leave-one-out on the training rows) and the held-out r equal
    sklearn's RidgeCV(alpha_per_target=True) on the same rows (the old second solver ignored the intercept
    in its leave-one-out diagonal and chose other alphas)."""
    rng = np.random.default_rng(5)
    features = rng.normal(size=(90, 300)) + 2.0
    targets = (features @ rng.normal(size=(300, 12)) / np.sqrt(300) * np.logspace(-1.5, 0.5, 12)
               + rng.normal(size=(90, 12)) + 4.0)
    alphas = np.logspace(-1, 5, 7)
    train = np.setdiff1d(np.arange(90), np.arange(0, 90, 4))
    test = np.arange(0, 90, 4)
    with h5py.File(tmp_path / "grid.h5", "w") as f:
        f["Y"] = targets
    with h5py.File(tmp_path / "grid.h5", "r") as f, config_context(dtype="float64"):
        r, chosen = kernel_ridge_scores(features @ features.T, f["Y"], train, test, alphas=alphas, chunk_size=5)
    reference = RidgeCV(alphas, alpha_per_target=True).fit(features[train], targets[train])
    np.testing.assert_array_equal(chosen, reference.alpha_)
    predicted = reference.predict(features[test])
    expected = [np.corrcoef(predicted[:, j], targets[test, j])[0, 1] for j in range(12)]
    np.testing.assert_allclose(r, expected, rtol=1e-8, atol=1e-10)
    assert len(np.unique(chosen)) >= 3  # the comparison covers several alpha choices


def test_bad_streams_raise():
    with pytest.raises(InvalidInputError, match="NaN"):
        StreamingRegressor().fit([(np.array([[np.nan]]), np.array([1.0]))])
    with pytest.raises(InvalidInputError, match="rows"):
        RowChunks(X, Y[:10])
