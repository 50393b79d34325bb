"""Variance partitioning: how much of each target's variance is unique to, or shared among, feature spaces.

:func:`variance_partitioning` fits a cross-validated regression on every non-empty subset of 2–4 feature
spaces (features concatenated) and inverts the cross-validated R² of all subsets into the regions of the
Venn diagram: with ``g(S) = R²(all) − R²(all \\ S)`` (variance lost without ``S``), the variance shared by
exactly the spaces in ``A`` is the Möbius inversion ``v(A) = Σ_{B ⊆ A} (−1)^{|A|−|B|} g(B)``; for two
spaces that is ``unique_1 = R²(1,2) − R²(2)`` and ``shared = R²(1) + R²(2) − R²(1,2)``.

:func:`structured_variance_partitioning` (Lin et al. 2024) orders the spaces (e.g. layers) and uses stacked
models on the first ``k`` and the last ``k`` spaces to bound, per target, the range of spaces it needs.

>>> import numpy as np
>>> from brainalign.core.labels import make_features, make_responses
>>> rng = np.random.default_rng(0); ids = [str(i) for i in range(200)]
>>> a, b = rng.normal(size=(200, 2)), rng.normal(size=(200, 2))
>>> y = a[:, :1] + b[:, :1]
>>> parts = variance_partitioning({"a": make_features(a, ids), "b": make_features(b, ids)},
...                               make_responses(y, ids))
>>> {k: round(float(v[0]), 1) + 0.0 for k, v in parts.regions.items()}
{('a',): 0.5, ('b',): 0.5, ('a', 'b'): 0.0}
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.mapping.cv import Splits
from brainalign.mapping.ridge import DEFAULT_ALPHAS, DEFAULT_CV, RidgeCV
from brainalign.metrics.encoding.engine import encoding_matrices, resolve_splits
from brainalign.metrics.encoding.stacking import StackedRegression, out_of_fold_predictions

MAX_PARTITION_SPACES = 4


@dataclass
class VariancePartition:
    """Cross-validated R² per subset of spaces and per Venn region (tuples of space names), each per target."""

    r2: dict[tuple[str, ...], np.ndarray]
    regions: dict[tuple[str, ...], np.ndarray]

    def unique(self, space: str) -> np.ndarray:
        """Variance explained by ``space`` and by no other space."""
        return self.regions[(space,)]


def cross_validated_r2(X: np.ndarray, Y: np.ndarray, estimator: Any, splits: Splits) -> np.ndarray:
    """Per-target R² = 1 − SSE/SST of out-of-fold predictions (pooled over folds) of clones of ``estimator``.

    >>> import numpy as np
    >>> from brainalign.mapping.cv import kfold_splits
    >>> X = np.arange(30.0)[:, None]
    >>> cross_validated_r2(X, 3 * X, RidgeCV([1e-6]), kfold_splits(30, 3)).round(3).tolist()
    [1.0]
    """
    predictions = out_of_fold_predictions(X, Y, estimator, splits)
    Y = Y[:, None] if Y.ndim == 1 else Y
    return 1 - ((Y - predictions) ** 2).sum(0) / ((Y - Y.mean(0)) ** 2).sum(0)


def variance_partitioning(
    spaces: Mapping[str, xr.DataArray],
    target: xr.DataArray,
    *,
    estimator: Any = None,
    inner_cv: int = DEFAULT_CV,
    splits: Splits | None = None,
    n_splits: int = 5,
    seed: int = 0,
) -> VariancePartition:
    """Unique and shared cross-validated variance of 2–4 named feature spaces, each subset's model a clone of
    ``estimator`` (default: ridge over the default alpha grid with ``inner_cv`` inner folds)."""
    names = list(spaces)
    if not 2 <= len(names) <= MAX_PARTITION_SPACES:
        raise InvalidInputError(f"variance partitioning needs 2 to {MAX_PARTITION_SPACES} feature spaces; "
                                f"got {len(names)}: {names}")
    matrices = {name: encoding_matrices(features, target) for name, features in spaces.items()}
    Y = matrices[names[0]][1]
    splits = resolve_splits(len(Y), splits, n_splits, seed)
    estimator = RidgeCV(DEFAULT_ALPHAS, cv=inner_cv, seed=seed) if estimator is None else estimator
    subsets = [s for size in range(1, len(names) + 1) for s in itertools.combinations(names, size)]
    r2 = {s: cross_validated_r2(np.concatenate([matrices[n][0] for n in s], axis=1), Y, estimator, splits)
          for s in subsets}
    full = r2[tuple(names)]
    lost = {s: full - r2.get(tuple(n for n in names if n not in s), np.zeros_like(full)) for s in subsets}
    regions = {a: sum((-1) ** (len(a) - len(b)) * lost[b]
                      for size in range(1, len(a) + 1) for b in itertools.combinations(a, size))
               for a in subsets}
    return VariancePartition(r2, regions)


@dataclass
class StructuredPartition:
    """Per target: held-out R² of stacked models on the first k spaces (``forward[k-1]``) and on the
    last k (``backward[k-1]`` uses spaces ``K-k .. K-1``), and the range ``[lower, upper]`` of spaces needed."""

    forward: np.ndarray
    backward: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def structured_variance_partitioning(
    X_train: np.ndarray, Y_train: np.ndarray, X_test: np.ndarray, Y_test: np.ndarray, block_sizes: Sequence[int],
    *, estimator: Any = None, tolerance: float = 0.01, seed: int = 0,
) -> StructuredPartition:
    """Bound, per target, the ordered feature spaces (e.g. layers) a stacked model needs (Lin et al. 2024).

    ``upper`` is the first k whose first-k stacked model reaches the full model's held-out R² within
    ``tolerance``; ``lower`` the last start index whose spaces ``lower..K-1`` still do. A target driven by
    layer 2 alone gets ``lower = upper = 2``.
    """
    model = StackedRegression(block_sizes, estimator, seed=seed).fit(X_train, Y_train)
    Y_test = np.asarray(Y_test)
    Y_test = Y_test[:, None] if Y_test.ndim == 1 else Y_test
    total = ((Y_test - Y_test.mean(0)) ** 2).sum(0)

    def held_out_r2(spaces: Sequence[int]) -> np.ndarray:
        return 1 - ((Y_test - model.predict_subset(X_test, spaces)) ** 2).sum(0) / total

    k = len(model.block_sizes)
    forward = np.stack([held_out_r2(range(0, j + 1)) for j in range(k)])
    backward = np.stack([held_out_r2(range(k - 1 - j, k)) for j in range(k)])
    full = forward[-1]
    upper = np.argmax(forward >= full - tolerance, axis=0)
    enough_from = backward >= full - tolerance  # row j: spaces k-1-j .. k-1
    lower = k - 1 - np.argmax(enough_from, axis=0)
    return StructuredPartition(forward, backward, lower, upper)
