"""Stacked encoding (Lin, Sprague & Singh 2024): combine per-feature-space predictions with convex weights.

Each feature space (a block of columns, e.g. one layer) gets its own regression. Out-of-fold predictions of
every space on the training stimuli give, per target, the convex weights (non-negative, summing to one) that
minimise the squared error of their mix; the final prediction mixes the spaces' refitted predictions with
those weights. The weights themselves say which spaces a target draws on, and restricting the mix to the
first or last spaces of an ordered list gives structured variance partitioning.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(120, 6)); Y = X[:, :1] + 0.1 * rng.normal(size=(120, 1))
>>> model = StackedRegression([3, 3], RidgeCV([1.0])).fit(X, Y)
>>> model.weights_.round(1).tolist()
[[1.0, 0.0]]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.backend import to_numpy
from brainalign.core.errors import InvalidInputError
from brainalign.core.score import Score
from brainalign.mapping.cv import Splits, kfold_splits
from brainalign.mapping.reduction import layer_block_sizes
from brainalign.mapping.ridge import DEFAULT_ALPHAS, DEFAULT_CV, RidgeCV
from brainalign.metrics.encoding.engine import clone_estimator, cross_validated_predictions, encoding_score
from brainalign.metrics.registry import register_metric

MAX_SPACES = 10


def out_of_fold_predictions(X: Any, Y: Any, estimator: Any, splits: Splits) -> np.ndarray:
    """Predictions for every row from a clone of ``estimator`` fitted on the other folds (each row in one test fold).

    >>> import numpy as np
    >>> X = np.arange(20.0)[:, None]; Y = 2 * X
    >>> out_of_fold_predictions(X, Y, RidgeCV([1e-6]), kfold_splits(20, 4)).shape
    (20, 1)
    """
    return cross_validated_predictions(estimator, X, Y, splits).out_of_fold()


def convex_least_squares(gram: np.ndarray, cross: np.ndarray) -> np.ndarray:
    """Per target, weights ``w >= 0, sum(w) = 1`` minimising ``w' G w - 2 b' w`` (exact, by active sets).

    ``gram`` is ``(targets, k, k)`` (``G = P' P`` of the k predictions), ``cross`` is ``(targets, k)``
    (``b = P' y``). Every support is solved with its equality constraint and the best feasible one kept,
    so ``k`` is limited to ``MAX_SPACES``.

    >>> import numpy as np
    >>> P = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = np.array([1.0, 0.0, 1.0])
    >>> convex_least_squares((P.T @ P)[None], (P.T @ y)[None]).round(3).tolist()
    [[1.0, 0.0]]
    """
    gram, cross = np.asarray(gram, dtype=float), np.asarray(cross, dtype=float)
    n_targets, k = cross.shape
    if k > MAX_SPACES:
        raise InvalidInputError(f"convex stacking supports at most {MAX_SPACES} feature spaces; got {k}")
    best_weights, best_loss = np.zeros((n_targets, k)), np.full(n_targets, np.inf)
    for size in range(1, k + 1):
        for support in itertools.combinations(range(k), size):
            s = list(support)
            kkt = np.zeros((n_targets, size + 1, size + 1))
            kkt[:, :size, :size] = gram[:, s][:, :, s]
            kkt[:, :size, size] = kkt[:, size, :size] = 1.0
            rhs = np.concatenate([cross[:, s], np.ones((n_targets, 1))], axis=1)
            solution = np.einsum("tij,tj->ti", np.linalg.pinv(kkt), rhs)[:, :size]
            weights = np.zeros((n_targets, k))
            weights[:, s] = solution
            loss = np.einsum("ti,tij,tj->t", weights, gram, weights) - 2 * np.einsum("ti,ti->t", weights, cross)
            better = (solution >= -1e-9).all(axis=1) & (np.abs(solution.sum(1) - 1) < 1e-6) & (loss < best_loss)
            best_weights[better], best_loss[better] = weights[better], loss[better]
    best_weights = np.clip(best_weights, 0, None)
    return best_weights / best_weights.sum(axis=1, keepdims=True)


class StackedRegression:
    """One clone of ``estimator`` per block of columns (``block_sizes``), mixed per target by convex stacking
    weights fitted on ``inner_cv``-fold out-of-fold predictions (default estimator: ridge over the default grid).

    After ``fit``: ``weights_`` (targets × spaces). :meth:`predict` mixes all spaces; :meth:`predict_subset`
    re-solves the weights for a subset of spaces (from the stored out-of-fold statistics) and mixes those.
    """

    def __init__(self, block_sizes: Sequence[int], estimator: Any = None, inner_cv: int = DEFAULT_CV, seed: int = 0):
        self.block_sizes = block_sizes
        self.estimator = estimator
        self.inner_cv = inner_cv
        self.seed = seed

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (for ``sklearn.base.clone``)."""
        return {"block_sizes": self.block_sizes, "estimator": self.estimator, "inner_cv": self.inner_cv,
                "seed": self.seed}

    def _blocks(self, X: Any) -> list[np.ndarray]:
        X, sizes = to_numpy(X), [int(b) for b in self.block_sizes]
        if len(sizes) < 1 or min(sizes) < 1:
            raise InvalidInputError(f"block_sizes must be positive unit counts; got {list(self.block_sizes)}")
        if X.shape[1] != sum(sizes):
            raise InvalidInputError(f"X has {X.shape[1]} columns; block_sizes {sizes} sum to {sum(sizes)}")
        edges = np.cumsum([0, *sizes])
        return [X[:, a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]

    def fit(self, X: Any, Y: Any) -> StackedRegression:
        blocks, Y = self._blocks(X), to_numpy(Y)
        Y = Y[:, None] if Y.ndim == 1 else Y
        estimator = RidgeCV(DEFAULT_ALPHAS, cv=DEFAULT_CV, seed=self.seed) if self.estimator is None else self.estimator
        splits = kfold_splits(len(Y), self.inner_cv, shuffle=True, seed=self.seed)
        held_out = np.stack([out_of_fold_predictions(b, Y, estimator, splits) for b in blocks], -1)
        self.gram_ = np.einsum("ntk,ntl->tkl", held_out, held_out)  # targets × spaces × spaces
        self.cross_ = np.einsum("ntk,nt->tk", held_out, Y)
        self.weights_ = convex_least_squares(self.gram_, self.cross_)
        self.models_ = [clone_estimator(estimator).fit(b, Y) for b in blocks]
        return self

    def _mix(self, X: Any, spaces: Sequence[int], weights: np.ndarray) -> np.ndarray:
        blocks = self._blocks(X)
        return sum(to_numpy(self.models_[s].predict(blocks[s])).reshape(len(blocks[s]), -1) * weights[:, i]
                   for i, s in enumerate(spaces))

    def predict(self, X: Any) -> np.ndarray:
        return self._mix(X, range(len(self.block_sizes)), self.weights_)

    def predict_subset(self, X: Any, spaces: Sequence[int]) -> np.ndarray:
        """Predictions of the stacked model restricted to ``spaces`` (weights re-solved on those spaces only)."""
        s = list(spaces)
        return self._mix(X, s, convex_least_squares(self.gram_[:, s][:, :, s], self.cross_[:, s]))


@register_metric("stacked")
def stacked_encoding(source: xr.DataArray, target: xr.DataArray, *, block_sizes: Sequence[int] | None = None,
                     alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS, inner_cv: int = DEFAULT_CV,
                     splits: Splits | None = None, n_splits: int = 5, seed: int = 0,
                     ceiling: np.ndarray | None = None) -> Score:
    """Stacked ridge encoding over feature spaces (default: the ``layer`` blocks of concatenated features),
    cross-validated by :func:`~brainalign.metrics.encoding.engine.encoding_score`."""
    blocks = layer_block_sizes(source) if block_sizes is None else list(block_sizes)
    stacked = StackedRegression(blocks, RidgeCV(alphas, cv=inner_cv, seed=seed), inner_cv, seed)
    score = encoding_score(source, target, stacked, "stacked", splits=splits, n_splits=n_splits, seed=seed,
                           ceiling=ceiling)
    score.provenance["block_sizes"] = str(blocks)
    return score
