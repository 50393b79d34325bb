"""Reducers against scikit-learn (PCA, IncrementalPCA, JL bound) and the JL distance guarantee."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from sklearn import decomposition, random_projection

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features
from brainalign.mapping.linear import LinearRegression
from brainalign.mapping.reduction import (
    PCA,
    IncrementalPCA,
    LayerConcat,
    ReducedRegression,
    SparseRandomProjection,
    concatenate_layers,
    johnson_lindenstrauss_min_dim,
    layer_block_sizes,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 30)) @ RNG.normal(size=(30, 40))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_pca_matches_sklearn(backend):
    sk = decomposition.PCA(5, svd_solver="full").fit(X[:80])
    with config_context(backend=backend, dtype="float64"):
        ours = PCA(5).fit(X[:80])
    out = np.asarray(ours.transform(X[80:]))
    np.testing.assert_allclose(np.abs(out), np.abs(sk.transform(X[80:])), atol=1e-8)
    np.testing.assert_allclose(np.asarray(ours.explained_variance_), sk.explained_variance_, rtol=1e-8)


def test_incremental_pca_matches_sklearn_on_same_chunks():
    sk = decomposition.IncrementalPCA(6, batch_size=30).fit(X)
    with config_context(dtype="float64"):
        ours = IncrementalPCA(6, chunk_size=30).fit(X)
        streamed = IncrementalPCA(6).fit(iter([X[i:i + 30] for i in range(0, 120, 30)]))
    np.testing.assert_allclose(np.abs(ours.components_), np.abs(sk.components_), atol=1e-8)
    np.testing.assert_allclose(ours.mean_, sk.mean_, atol=1e-10)
    np.testing.assert_allclose(np.abs(streamed.transform(X)), np.abs(sk.transform(X)), atol=1e-8)


def test_pca_is_fitted_on_training_rows_only():
    with config_context(dtype="float64"):
        pipeline = ReducedRegression(PCA(4), LinearRegression()).fit(X[:80], X[:80, :2])
    np.testing.assert_allclose(pipeline.reducer_.mean_, X[:80].mean(0))


def test_sparse_random_projection_follows_johnson_lindenstrauss():
    assert johnson_lindenstrauss_min_dim(500, 0.3) == random_projection.johnson_lindenstrauss_min_dim(500, eps=0.3)
    data = RNG.normal(size=(50, 3000))
    with config_context(dtype="float64"):
        srp = SparseRandomProjection(eps=0.3, seed=1).fit(data)
    assert srp.n_components_ == random_projection.johnson_lindenstrauss_min_dim(50, eps=0.3)
    ratio = pdist(srp.transform(data)) / pdist(data)
    assert ratio.min() > 0.7 and ratio.max() < 1.3
    assert abs(srp.components_.nnz / np.prod(srp.components_.shape) - 1 / np.sqrt(3000)) < 0.003
    with config_context(backend="torch", dtype="float64"):
        torch_out = SparseRandomProjection(20, seed=1).fit(data).transform(data)
    with config_context(dtype="float64"):
        numpy_out = SparseRandomProjection(20, seed=1).fit(data).transform(data)
    np.testing.assert_allclose(torch_out.numpy(), numpy_out, atol=1e-10)


def test_layer_concat_reduces_each_layer_separately():
    a = make_features(X[:, :10], [f"s{i}" for i in range(120)], layer="a")
    b = make_features(X[::-1, 10:], [f"s{i}" for i in range(120)][::-1], layer="b")
    joined = concatenate_layers([a, b])
    assert layer_block_sizes(joined) == [10, 30]
    np.testing.assert_allclose(joined.values, X)
    with config_context(dtype="float64"):
        out = LayerConcat([10, 30], PCA(3)).fit(joined.values).transform(joined.values)
    np.testing.assert_allclose(np.abs(out[:, 3:]), np.abs(decomposition.PCA(3).fit_transform(X[:, 10:])), atol=1e-8)


def test_bad_inputs_raise():
    with pytest.raises(InvalidInputError, match="n_components=50"):
        PCA(50).fit(X[:20])
    with pytest.raises(InvalidInputError, match="block_sizes"):
        LayerConcat([5, 5], PCA(2)).fit(X)
