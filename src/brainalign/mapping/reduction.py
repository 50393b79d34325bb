"""Dimensionality reduction fitted on training stimuli only, as a step in front of any regression.

Reducers follow the sklearn transformer protocol (``fit`` / ``transform``): :class:`PCA` (exact, one SVD),
:class:`IncrementalPCA` (chunk by chunk, for features that do not fit in memory), :class:`SparseRandomProjection`
(Johnson–Lindenstrauss) and :class:`LayerConcat` (one reducer per layer, outputs side by side).
:class:`ReducedRegression` chains a reducer and a regression so the reducer sees only the training split
inside ``cross_validated_predictions``; :func:`concatenate_layers` joins several layers' `Features`.

>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(30, 8))
>>> PCA(3).fit(X[:20]).transform(X[20:]).shape
(10, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from brainalign.core.backend import namespace, to_numpy
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import UNIT, align, make_features, stimulus_ids
from brainalign.mapping._arrays import check_dense, fit_matrices, like_fitted


class PCA(TransformerMixin, BaseEstimator):
    """Principal components of the training matrix (centred, no whitening); signs as in sklearn.

    ``n_components=None`` keeps ``min(samples, features)`` components.
    """

    def __init__(self, n_components: int | None = None):
        self.n_components = n_components

    def fit(self, X: Any, y: Any = None) -> PCA:
        """Components of ``X`` (samples × features)."""
        X, _ = fit_matrices(X)
        n_components = _components_for(self.n_components, X.shape)
        xp = namespace(X)
        self.mean_ = xp.mean(X, axis=0)
        _, s, vt = xp.linalg.svd(X - self.mean_, full_matrices=False)
        vt = _flip_signs(vt, xp)
        self.components_ = vt[:n_components]
        self.explained_variance_ = s[:n_components] ** 2 / max(X.shape[0] - 1, 1)
        self.n_components_, self.n_features_in_ = n_components, X.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        """``X`` in component coordinates (samples × components)."""
        check_is_fitted(self, "components_")
        return (like_fitted(X, self.mean_, self.n_features_in_, self) - self.mean_) @ self.components_.T


class IncrementalPCA(PCA):
    """PCA updated one chunk of stimuli at a time (Ross et al. 2008, the algorithm of sklearn's IncrementalPCA).

    Call :meth:`partial_fit` per chunk (each at least ``n_components`` rows), or :meth:`fit` with an
    in-memory matrix (read ``chunk_size`` rows at a time) or an iterator of chunks.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 6))
    >>> ipca = IncrementalPCA(2).fit(iter([X[:20], X[20:]]))
    >>> ipca.n_samples_seen_, ipca.components_.shape
    (40, (2, 6))
    """

    def __init__(self, n_components: int | None = None, *, chunk_size: int | None = None):
        self.n_components = n_components
        self.chunk_size = chunk_size

    def fit(self, X: Any, y: Any = None) -> IncrementalPCA:
        """Components learnt chunk by chunk from a matrix or an iterator of chunks (a fresh start)."""
        for fitted in ("n_samples_seen_", "components_", "singular_values_", "mean_"):
            self.__dict__.pop(fitted, None)
        check_dense(X, "X")
        if isinstance(X, (list, tuple)) or (not hasattr(X, "shape") and hasattr(X, "__array__")):
            X = np.asarray(X)  # a matrix, as in sklearn; an iterator yields chunks
        if hasattr(X, "shape"):
            size = self.chunk_size or max(5 * (self.n_components or X.shape[1]), 1000)
            chunks: Iterable[Any] = (X[i:i + size] for i in range(0, X.shape[0], size))
        else:
            chunks = X
        for chunk in chunks:
            self.partial_fit(chunk)
        if not hasattr(self, "n_samples_seen_"):
            raise InvalidInputError("IncrementalPCA.fit received no data")
        return self

    def partial_fit(self, X: Any, y: Any = None) -> IncrementalPCA:
        """Update the components with one chunk of rows."""
        seen = getattr(self, "n_samples_seen_", 0)
        X = fit_matrices(X)[0] if seen == 0 else like_fitted(X, self.mean_, self.n_features_in_, self)
        n_components = _components_for(self.n_components, X.shape)
        xp = namespace(X)
        n_batch = X.shape[0]
        batch_mean = xp.mean(X, axis=0)
        if seen == 0:
            stacked, new_mean = X - batch_mean, batch_mean
        else:
            total = seen + n_batch
            new_mean = (seen * self.mean_ + n_batch * batch_mean) / total
            correction = (seen * n_batch / total) ** 0.5 * (self.mean_ - batch_mean)
            stacked = xp.concat([self.singular_values_[:, None] * self.components_, X - batch_mean,
                                 correction[None, :]], axis=0)
        _, s, vt = xp.linalg.svd(stacked, full_matrices=False)
        vt = _flip_signs(vt, xp)
        self.components_, self.singular_values_ = vt[:n_components], s[:n_components]
        self.mean_, self.n_samples_seen_ = new_mean, seen + n_batch
        self.explained_variance_ = self.singular_values_ ** 2 / max(self.n_samples_seen_ - 1, 1)
        self.n_components_, self.n_features_in_ = n_components, X.shape[1]
        return self


def johnson_lindenstrauss_min_dim(n_samples: int, eps: float = 0.1) -> int:
    """Dimensions that keep all pairwise distances of ``n_samples`` points within a factor ``1 ± eps``.

    >>> johnson_lindenstrauss_min_dim(1000, eps=0.1)
    5920
    """
    if not 0 < eps < 1:
        raise InvalidInputError(f"eps must lie in (0, 1); got {eps}")
    return int(4 * np.log(n_samples) / (eps ** 2 / 2 - eps ** 3 / 3))


class SparseRandomProjection(TransformerMixin, BaseEstimator):
    """Sparse random projection (Li, Hastie & Church 2006): entries ``±sqrt(1/(density·k))`` or 0.

    ``n_components="auto"`` picks the Johnson–Lindenstrauss bound for the training stimuli and ``eps``.
    The matrix depends only on the number of features and the seed, never on the data values. Outputs
    have the backend, device and dtype of the compute context at ``fit`` time.

    >>> import numpy as np
    >>> SparseRandomProjection(3, seed=0).fit_transform(np.ones((4, 50))).shape
    (4, 3)
    """

    def __init__(self, n_components: int | str = "auto", *, eps: float = 0.1, density: float | str = "auto",
                 seed: int = 0):
        self.n_components = n_components
        self.eps = eps
        self.density = density
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> SparseRandomProjection:
        """Draw the projection matrix for ``X``'s number of features."""
        import scipy.sparse as sp

        X, _ = fit_matrices(X)
        n, p = X.shape
        k = johnson_lindenstrauss_min_dim(n, self.eps) if self.n_components == "auto" else int(self.n_components)
        density = 1 / np.sqrt(p) if self.density == "auto" else float(self.density)
        if k < 1 or not 0 < density <= 1:
            raise InvalidInputError(f"need n_components >= 1 and density in (0, 1]; got {k}, {density}")
        rng = np.random.default_rng(self.seed)
        nnz = rng.binomial(p, density, size=k)
        rows = np.repeat(np.arange(k), nnz)
        cols = np.concatenate([rng.choice(p, size=c, replace=False) for c in nnz])
        values = rng.choice([-1.0, 1.0], size=cols.size) / np.sqrt(density * k)
        self.n_components_, self.density_, self.n_features_in_ = k, density, p
        self.components_ = sp.csr_matrix((values.astype(to_numpy(X[:1, :1]).dtype), (rows, cols)), shape=(k, p))
        self._fitted_like = X[:0, 0]  # carries the fit's backend, device and dtype
        return self

    def transform(self, X: Any) -> Any:
        """``X`` projected to ``n_components_`` dimensions."""
        check_is_fitted(self, "components_")
        X = like_fitted(X, self._fitted_like, self.n_features_in_, self)
        if type(X).__module__.startswith("torch"):
            import torch

            coo = self.components_.tocoo()
            indices = torch.as_tensor(np.vstack([coo.col, coo.row]), device=X.device)
            projection = torch.sparse_coo_tensor(indices, torch.as_tensor(coo.data, device=X.device),
                                                 (coo.shape[1], coo.shape[0]), check_invariants=False)
            return (projection.t() @ X.T).T
        return np.asarray((self.components_ @ X.T).T)


class LayerConcat(TransformerMixin, BaseEstimator):
    """Reduce each layer's block of columns with its own reducer (fitted on the same rows), then concatenate.

    ``block_sizes`` are the units per layer in column order (as written by :func:`concatenate_layers`);
    ``reducer`` is an unfitted reducer cloned per block (a zero-argument factory works too).

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 7))
    >>> LayerConcat([3, 4], PCA(2)).fit(X).transform(X).shape
    (20, 4)
    """

    def __init__(self, block_sizes: Sequence[int] = (), reducer: Any = None):
        self.block_sizes = block_sizes
        self.reducer = reducer

    def _blocks(self, X: Any) -> list[Any]:
        sizes = [int(b) for b in self.block_sizes]
        if X.shape[1] != sum(sizes):
            raise InvalidInputError(f"X has {X.shape[1]} columns; block_sizes {sizes} sum to {sum(sizes)}")
        edges = np.cumsum([0, *sizes])
        return [X[:, a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]

    def _new_reducer(self) -> Any:
        if self.reducer is None:
            raise InvalidInputError("LayerConcat needs a reducer, e.g. LayerConcat(sizes, PCA(100))")
        return clone(self.reducer) if hasattr(self.reducer, "get_params") else self.reducer()

    def fit(self, X: Any, y: Any = None) -> LayerConcat:
        """Fit one reducer per block of columns."""
        X, _ = fit_matrices(X)
        self.reducers_ = [self._new_reducer().fit(block) for block in self._blocks(X)]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        """The blocks' reduced columns side by side."""
        check_is_fitted(self, "reducers_")
        parts = [r.transform(block) for r, block in zip(self.reducers_, self._blocks(X), strict=True)]
        return namespace(*parts).concat(parts, axis=1)


class ReducedRegression(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """A reducer followed by a regression, both cloned and fitted on the training rows only
    (``reducer_``, ``regression_``).

    >>> import numpy as np
    >>> from brainalign.mapping.linear import LinearRegression
    >>> X = np.random.default_rng(0).normal(size=(30, 10)); Y = X[:, :2]
    >>> ReducedRegression(PCA(10), LinearRegression()).fit(X, Y).predict(X).shape
    (30, 2)
    """

    def __init__(self, reducer: Any = None, regression: Any = None):
        self.reducer = reducer
        self.regression = regression

    def fit(self, X: Any, y: Any) -> ReducedRegression:
        """Fit the reducer on ``X``, then the regression on the reduced ``X``."""
        if y is None:
            raise InvalidInputError("ReducedRegression requires y to be passed, but the target y is None")
        if self.reducer is None or self.regression is None:
            raise InvalidInputError("ReducedRegression needs a reducer and a regression, "
                                    "e.g. ReducedRegression(PCA(100), RidgeCV())")
        self.reducer_, self.regression_ = clone(self.reducer), clone(self.regression)
        self.regression_.fit(self.reducer_.fit(X).transform(X), y)
        self.n_features_in_ = self.reducer_.n_features_in_
        return self

    def predict(self, X: Any) -> Any:
        """The regression's predictions from the reduced ``X``."""
        check_is_fitted(self, "regression_")
        return self.regression_.predict(self.reducer_.transform(X))


def concatenate_layers(layers: Sequence[xr.DataArray]) -> xr.DataArray:
    """Join several layers' `Features` (aligned by stimulus id) into one; coord ``layer`` names each unit's layer.

    >>> import numpy as np
    >>> a = make_features(np.ones((2, 3)), ["x", "y"], layer="conv1")
    >>> b = make_features(np.zeros((2, 2)), ["y", "x"], layer="fc")
    >>> joined = concatenate_layers([a, b])
    >>> joined.shape, joined.layer.values.tolist()
    ((2, 5), ['conv1', 'conv1', 'conv1', 'fc', 'fc'])
    """
    if not layers:
        raise InvalidInputError("concatenate_layers needs at least one layer")
    reference = layers[0]
    aligned = [align(layer, reference)[0] for layer in layers]
    names = [str(layer.attrs.get("layer", f"layer{i}")) for i, layer in enumerate(layers)]
    values = np.concatenate([to_numpy(a.values).reshape(a.shape[0], -1) for a in aligned], axis=1)
    joined = make_features(values, stimulus_ids(reference), layer="+".join(names), model=reference.attrs.get("model"))
    labels = [n for n, a in zip(names, aligned, strict=True) for _ in range(a.shape[1])]
    return joined.assign_coords(layer=(UNIT, labels))


def layer_block_sizes(features: xr.DataArray) -> list[int]:
    """Units per layer, in column order, of features built by :func:`concatenate_layers`."""
    if "layer" not in features.coords:
        raise InvalidInputError("features carry no 'layer' coordinate; build them with concatenate_layers")
    labels = list(features["layer"].values)
    starts = [i for i in range(len(labels)) if i == 0 or labels[i] != labels[i - 1]]
    return [b - a for a, b in zip(starts, [*starts[1:], len(labels)], strict=True)]


def _components_for(n_components: int | None, shape: tuple[int, ...]) -> int:
    """The number of components to keep: ``n_components`` checked against the matrix, or all."""
    if n_components is None:
        return min(shape)
    if not isinstance(n_components, (int, np.integer)) or n_components < 1:
        raise InvalidInputError(f"n_components must be a positive integer or None; got {n_components!r}")
    if n_components > min(shape):
        raise InvalidInputError(f"n_components={n_components} exceeds min(samples, features) of a "
                                f"{shape[0]} × {shape[1]} matrix")
    return int(n_components)


def _flip_signs(vt: Any, xp: Any) -> Any:
    """sklearn's sign convention: the largest-magnitude entry of each component is positive."""
    biggest = xp.argmax(xp.abs(vt), axis=1)
    signs = xp.sign(xp.take_along_axis(vt, biggest[:, None], axis=1))
    return vt * signs
