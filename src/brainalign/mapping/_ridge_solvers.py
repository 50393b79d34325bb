"""Cross-validated ridge as pure functions: one per form, in one solver table (:data:`RIDGE_SOLVERS`).

Each solver takes matrices of one array backend, the alpha grid and the splits, and returns a
:class:`RidgeCVSolution` (CV scores, the chosen alpha per target, the weights); it keeps no state.

* :func:`solve_ridge_cv_kernel` — from the n × n linear kernel. One eigendecomposition gives, for
  every alpha, the penalised inverse ``M = (K + alpha I)⁻¹`` (with an unpenalised intercept: restricted
  to the stimuli's centred subspace). Held-out residuals need no refit per fold: leaving out the stimuli
  ``T`` gives residuals ``M_TT⁻¹ (M y)_T`` exactly (the leave-group-out identity of penalised least
  squares), i.e. held-out predictions ``-M_TT⁻¹ M_T,train y_train``; leave-one-out is the special case
  ``(M y)_i / M_ii`` (Rifkin & Lippert 2007). Each split is therefore one precomputed (alphas · held-out ×
  training stimuli) matrix, and scoring a batch of targets is one matrix product per split. The weights
  are dual: ``M y`` with each target's alpha.
* :func:`solve_ridge_cv_primal` — from the features, for fewer features than stimuli: each fold's
  centred training features are diagonalised by an SVD, in which ridge is the filter ``s / (s² + alpha)``.

The alpha choice reproduces the reference libraries: with splits, the mean over splits of the held-out
negative mean squared error, ties going to the larger alpha (himalaya's ``RidgeCV`` / ``KernelRidgeCV``);
with ``cv="loo"``, the exact leave-one-out error (``sklearn.linear_model.RidgeCV(alpha_per_target=True)``).

>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(30, 50)); Y = X[:, :2]
>>> solution = solve_ridge_cv_kernel(X @ X.T, Y, np.array([1e-3, 1e3]), "loo")
>>> solution.best.tolist(), solution.weights.shape
([0, 0], (30, 2))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
from array_api_compat import device as _device_of

from brainalign.core.backend import namespace
from brainalign.core.config import rows_per_block
from brainalign.core.errors import InvalidInputError
from brainalign.mapping.cv import Splits, check_splits, kfold_splits

DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-2, 7, 10))
DEFAULT_CV = 5
DEFAULT_TARGET_BATCH_SIZE = 2048
# himalaya's tie-break: a slope of 1e-10 per e-fold of alpha makes equal scores pick the larger alpha.
TIE_BREAK_SLOPE = 1e-10

# targets (stimuli × batch) -> held-out residuals (batch, n_alphas, n_held_out): each target's residuals of one
# alpha lie along the last axis, so their sum of squares is one contiguous dot product
ResidualMap = Callable[[Any], Any]
CV = int | Literal["loo"] | Splits


class RidgeCVSolution(NamedTuple):
    """What a solver returns: ``scores`` (alphas × targets, float64, the CV criterion, higher is better),
    ``best`` (index of each target's alpha) and ``weights`` (dual: stimuli × targets; primal: features ×
    targets)."""

    scores: Any
    best: Any
    weights: Any


def resolve_splits(cv: CV, n: int, seed: int = 0) -> Splits | None:
    """``None`` for leave-one-out, else the list of ``(train, test)`` splits ``cv`` stands for.

    >>> len(resolve_splits(5, 20)), resolve_splits("loo", 20)
    (5, None)
    """
    if isinstance(cv, str):
        if cv != "loo":
            raise InvalidInputError(f"cv {cv!r} is not supported; valid: an int, 'loo', or a list of splits")
        return None
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        return kfold_splits(n, int(cv), shuffle=True, seed=seed)
    return check_splits(cv, n)


def checked_alphas(alphas: Sequence[float] | Any, like: Any) -> Any:
    """``alphas`` as a 1-D array of ``like``'s backend, device and dtype; an error unless all are positive.

    >>> checked_alphas([1, 10], np.zeros(2)).tolist()
    [1.0, 10.0]
    """
    values = np.atleast_1d(np.asarray(alphas, dtype=float))
    if values.ndim != 1 or values.size == 0 or not (np.isfinite(values) & (values > 0)).all():
        raise InvalidInputError(f"alphas must be a non-empty list of positive numbers; got {alphas!r}")
    xp = namespace(like)
    return xp.asarray(values, dtype=like.dtype, device=_device_of(like))


# ---------------------------------------------------------------------- kernel form
def solve_ridge_cv_kernel(kernel: Any, Y: Any, alphas: Any, cv: CV = DEFAULT_CV, *, fit_intercept: bool = True,
                          alpha_per_target: bool = True, target_batch_size: int = DEFAULT_TARGET_BATCH_SIZE,
                          seed: int = 0) -> RidgeCVSolution:
    """Cross-validated ridge from the linear kernel ``X Xᵀ`` (n × n); dual weights ``M y``.

    Predictions for new stimuli are ``(X_new - mean) (X_train - mean)ᵀ weights + mean(y)``.

    >>> X = np.random.default_rng(1).normal(size=(40, 60)); Y = X[:, :3] + 5
    >>> solve_ridge_cv_kernel(X @ X.T, Y, np.array([1e-2, 1e4]), 4).best.tolist()
    [0, 0, 0]
    """
    return KernelRidgeCV(kernel, alphas, resolve_splits(cv, kernel.shape[0], seed),
                         fit_intercept=fit_intercept).solve(Y, alpha_per_target=alpha_per_target,
                                                            target_batch_size=target_batch_size)


class KernelRidgeCV:
    """The part of :func:`solve_ridge_cv_kernel` that depends on the kernel only, computed once; then
    :meth:`solve` any number of target batches (e.g. streamed from disk) against it.

    >>> X = np.random.default_rng(2).normal(size=(20, 30))
    >>> prepared = KernelRidgeCV(X @ X.T, np.array([0.1, 1e5]), None)
    >>> [prepared.solve(X[:, [j]]).best.tolist() for j in range(2)]
    [[0], [1]]
    """

    def __init__(self, kernel: Any, alphas: Any, splits: Splits | None, *, fit_intercept: bool = True):
        xp = namespace(kernel)
        n = kernel.shape[0]
        self.alphas, self.n_alphas = alphas, alphas.shape[0]
        self.inverses = _penalised_inverses(kernel, alphas, center=fit_intercept)
        if splits is None:  # leave-one-out: residuals (M y)_i / M_ii, each row scaled once here
            scaled = self.inverses / xp.linalg.diagonal(self.inverses)[:, :, None]
            self.residual_maps, self.held_out = [_leave_one_out_map(scaled)], n
            return
        self.residual_maps, self.held_out = [], 0  # predictions of all alphas for training targets y: y.T @ P.T
        for train, test in splits:
            train, test = (xp.asarray(i, device=_device_of(kernel)) for i in (train, test))
            self.held_out = max(self.held_out, test.shape[0])
            inverses, local_train, local_test = self.inverses, train, test
            if train.shape[0] + test.shape[0] != n:  # the split leaves stimuli out: diagonalise its own union
                union = xp.sort(xp.concat([train, test]))
                inverses = _penalised_inverses(xp.take(xp.take(kernel, union, axis=0), union, axis=1), alphas,
                                               center=fit_intercept)
                local_train, local_test = xp.searchsorted(union, train), xp.searchsorted(union, test)
            predictor = _held_out_predictor(inverses, local_train, local_test)
            self.residual_maps.append(_held_out_map(lambda y, p=predictor: y.T @ p.T, train, test))

    def solve(self, Y: Any, *, alpha_per_target: bool = True,
              target_batch_size: int = DEFAULT_TARGET_BATCH_SIZE) -> RidgeCVSolution:
        """CV scores, chosen alphas and dual weights of the targets ``Y`` (stimuli × targets)."""
        scores = cv_scores(self.residual_maps, Y, self.n_alphas * self.held_out, target_batch_size)
        best = select_alphas(scores, self.alphas, alpha_per_target)
        return RidgeCVSolution(scores, best, _weights_per_alpha(self.inverses, Y, best))


def _center_kernel(gram: Any) -> Any:
    """The kernel of the features centred on these stimuli (sklearn's ``KernelCenterer``)."""
    xp = namespace(gram)
    column_mean = xp.mean(gram, axis=0, keepdims=True)
    return gram - column_mean - column_mean.T + xp.mean(column_mean)


def _penalised_inverses(gram: Any, alphas: Any, *, center: bool) -> Any:
    """``M[a] = (K + alphas[a] I)⁻¹`` for every alpha, (n_alphas, n, n), from one eigendecomposition.

    With ``center`` (an unpenalised intercept) ``K`` is centred and ``M`` is restricted to the
    centred subspace — ``C (K_c + alpha I)⁻¹ C`` with ``C = I - 11ᵀ/n`` — so that ``I - alpha M`` is
    the hat matrix of ridge with intercept.
    """
    xp = namespace(gram)
    eigenvalues, U = xp.linalg.eigh(_center_kernel(gram) if center else gram)
    eigenvalues = xp.clip(eigenvalues, 0.0, None)  # rounding can make the null space slightly negative
    if center:
        U = U - xp.mean(U, axis=0, keepdims=True)
    n_alphas, n = alphas.shape[0], U.shape[0]
    filters = 1.0 / (eigenvalues[None, :] + alphas[:, None])  # (n_alphas, n)
    scaled = xp.reshape(U[None, :, :] * filters[:, None, :], (n_alphas * n, n))
    return xp.reshape(scaled @ U.T, (n_alphas, n, n))  # one product for all alphas


def _held_out_predictor(inverses: Any, train: Any, test: Any) -> Any:
    """``-M_TT⁻¹ M_T,train`` for every alpha, stacked (n_alphas · n_test, n_train): times ``y_train``, the
    predictions on ``test`` of ridge fitted on ``train``."""
    xp = namespace(inverses)
    test_rows = xp.take(inverses, test, axis=1)  # (n_alphas, n_test, n)
    # an explicit inverse of the small n_test × n_test blocks: faster than a solve, and as accurate here
    predictor = -(xp.linalg.inv(xp.take(test_rows, test, axis=2)) @ xp.take(test_rows, train, axis=2))
    n_alphas, n_test, n_train = predictor.shape
    return xp.reshape(predictor, (n_alphas * n_test, n_train))


def _held_out_map(predict: Callable[[Any], Any], train: Any, test: Any) -> ResidualMap:
    """Residuals on the rows ``test`` of ``predict(y_train)`` (batch × n_alphas · n_test: predictions of every
    alpha), in the (batch, alphas, test) layout."""
    xp = namespace(train)
    n_test = test.shape[0]

    def residuals(Y):
        predicted = xp.reshape(predict(xp.take(Y, train, axis=0)), (Y.shape[1], -1, n_test))
        predicted -= xp.take(Y, test, axis=0).T[:, None, :]
        return predicted
    return residuals


def _leave_one_out_map(scaled: Any) -> ResidualMap:
    """Leave-one-out residuals ``(M y)_i / M_ii`` from the row-scaled inverses: one matrix product."""
    xp = namespace(scaled)
    n_alphas, n, _ = scaled.shape
    stacked = xp.reshape(scaled, (n_alphas * n, n))
    return lambda Y: xp.reshape(Y.T @ stacked.T, (Y.shape[1], n_alphas, n))


def _weights_per_alpha(inverses: Any, Y: Any, best: Any) -> Any:
    """Dual weights ``M[best_j] y_j`` per target: one product per alpha over the targets that chose it.

    Targets are gathered and scattered as rows of ``Yᵀ`` (contiguous) rather than as columns of ``Y``;
    ``M`` is symmetric, so ``yᵀ M = (M y)ᵀ``.
    """
    xp = namespace(Y)
    for a in range(inverses.shape[0]):
        if int(xp.sum(xp.astype(best == a, xp.int64))) == Y.shape[1]:
            return inverses[a] @ Y
    targets = xp.asarray(Y.T, copy=True)  # (targets, stimuli), contiguous
    weights = xp.zeros_like(targets)
    for a in range(inverses.shape[0]):
        chosen = xp.nonzero(best == a)[0]
        if chosen.shape[0]:
            weights[chosen] = xp.take(targets, chosen, axis=0) @ inverses[a]
    return weights.T


# ---------------------------------------------------------------------- primal form
def solve_ridge_cv_primal(X: Any, Y: Any, alphas: Any, cv: CV = DEFAULT_CV, *, fit_intercept: bool = True,
                          alpha_per_target: bool = True, target_batch_size: int = DEFAULT_TARGET_BATCH_SIZE,
                          seed: int = 0) -> RidgeCVSolution:
    """Cross-validated ridge from the features (SVD per fold); weights are features × targets.

    Predictions for new stimuli are ``(X_new - mean) weights + mean(y)``.

    >>> X = np.random.default_rng(3).normal(size=(50, 4)); Y = X @ np.ones((4, 2))
    >>> solution = solve_ridge_cv_primal(X, Y, np.array([1e-3, 1e3]), 5)
    >>> solution.best.tolist(), np.round(solution.weights, 2).tolist()[0]
    ([0, 0], [1.0, 1.0])
    """
    xp = namespace(X)
    splits = resolve_splits(cv, X.shape[0], seed)
    Xc = X - xp.mean(X, axis=0, keepdims=True) if fit_intercept else X
    full = _SVDBasis.of(Xc)
    if splits is None:
        residual_maps, held_out = [full.leave_one_out_residuals(alphas, fit_intercept)], X.shape[0]
    else:
        residual_maps, held_out = [], max(len(test) for _, test in splits)
        for train, test in splits:
            train, test = (xp.asarray(i, device=_device_of(X)) for i in (train, test))
            fold = _SVDBasis.of(xp.take(Xc, train, axis=0), center=fit_intercept)
            residual_maps.append(fold.held_out_residuals(xp.take(Xc, test, axis=0), alphas, train, test,
                                                         intercept=fit_intercept))
    scores = cv_scores(residual_maps, Y, alphas.shape[0] * held_out, target_batch_size)
    best = select_alphas(scores, alphas, alpha_per_target)
    return RidgeCVSolution(scores, best, full.weights(Y, xp.take(alphas, best, axis=0), target_batch_size))


class _SVDBasis:
    """Features diagonalised, ``X = U diag(s) Vᵀ`` (thin); ``eigenvalues`` are ``s²``, the kernel's."""

    def __init__(self, U: Any, singular_values: Any, V: Any, mean: Any):
        self.U, self.singular_values, self.V, self.mean = U, singular_values, V, mean
        self.eigenvalues = singular_values * singular_values

    @classmethod
    def of(cls, X: Any, *, center: bool = False) -> _SVDBasis:
        """The SVD of ``X``, centred first on its rows' mean with ``center``."""
        xp = namespace(X)
        mean = xp.mean(X, axis=0, keepdims=True) if center else None
        U, s, Vt = xp.linalg.svd(X - mean if center else X, full_matrices=False)
        return cls(U, s, Vt.T, mean)

    def held_out_residuals(self, X_test: Any, alphas: Any, train: Any, test: Any, *, intercept: bool) -> ResidualMap:
        """Residuals on ``X_test`` of ridge fitted on this basis' stimuli (rows ``train``), all alphas at once.

        Predictions are ``T diag(s/(s²+α)) Uᵀ y + mean(y)`` with ``T = (X_test - mean) V``: the
        alpha-dependent part is folded into one (n_alphas·n_test × rank) matrix, and the training
        mean is one more row of the projection (``Uᵀ 1 = 0`` once centred).
        """
        xp = namespace(self.U)
        n_alphas, (n_train, rank), n_test = alphas.shape[0], self.U.shape, X_test.shape[0]
        test_factor = (X_test - self.mean if intercept else X_test) @ (self.V * self.singular_values[None, :])
        filters = 1.0 / (self.eigenvalues[None, :] + alphas[:, None])  # (n_alphas, rank)
        left = xp.reshape(test_factor[None, :, :] * filters[:, None, :], (n_alphas * n_test, rank))
        right = self.U.T
        if intercept:
            left = xp.concat([left, xp.ones_like(left[:, :1])], axis=1)
            right = xp.concat([right, xp.full_like(right[:1], 1.0 / n_train)], axis=0)
        if rank * n_train + n_alphas * n_test * rank < n_alphas * n_test * n_train:
            return _held_out_map(lambda y: (y.T @ right.T) @ left.T, train, test)
        through_train = left @ right
        return _held_out_map(lambda y: y.T @ through_train.T, train, test)

    def leave_one_out_residuals(self, alphas: Any, intercept: bool) -> ResidualMap:
        """Leave-one-out residuals ``(M y)_i / M_ii`` from this thin SVD of all (centred) stimuli.

        ``M = (Xc Xcᵀ + alpha I)⁻¹ = U diag(1/(s²+α)) Uᵀ + (I - U Uᵀ)/α``, the second term vanishing
        when U is square. An unpenalised intercept restricts M to the centred subspace: U's columns
        are centred (``Ũ``) and the null-space term becomes ``(I - 11ᵀ/n - Ũ Ũᵀ)/α``. Written this way
        no large terms cancel.
        """
        xp = namespace(self.U)
        n, rank = self.U.shape
        filters = 1.0 / (self.eigenvalues[None, :] + alphas[:, None])  # (n_alphas, rank)
        U = self.U - xp.mean(self.U, axis=0, keepdims=True) if intercept else self.U
        diagonal = filters @ (U * U).T  # (n_alphas, n)
        if rank < n:
            outside = 1.0 - xp.sum(U * U, axis=1) - (1.0 / n if intercept else 0.0)
            diagonal = diagonal + outside[None, :] / alphas[:, None]

        def residuals(y):
            projected = U.T @ y  # (rank, batch)
            result = U @ (filters[:, :, None] * projected[None])  # (n_alphas, n, batch)
            if rank < n:
                result += (y - U @ projected)[None] / alphas[:, None, None]
            result /= diagonal[:, :, None]
            return xp.permute_dims(result, (2, 0, 1))
        return residuals

    def weights(self, Y: Any, best_alphas: Any, target_batch_size: int) -> Any:
        """Weights ``V diag(s/(s²+α)) Uᵀ y`` with each target's alpha."""
        xp = namespace(Y)
        weights = []
        for batch in target_batches(Y.shape[1], Y.shape[0], target_batch_size, Y.dtype):
            filtered = (self.U.T @ Y[:, batch]) / (self.eigenvalues[:, None] + best_alphas[batch][None, :])
            weights.append(self.V @ (self.singular_values[:, None] * filtered))
        return xp.concat(weights, axis=1)


# ---------------------------------------------------------------------- shared by both forms
def cv_scores(residual_maps: Sequence[ResidualMap], Y: Any, rows_per_target: int, target_batch_size: int) -> Any:
    """Mean over splits of the held-out negative mean squared error, (n_alphas, n_targets) in float64.

    Targets are processed in batches (:func:`target_batches`); each batch is scored on every split
    while it is still in cache.
    """
    xp = namespace(Y)
    total = None
    for batch in target_batches(Y.shape[1], rows_per_target, target_batch_size, Y.dtype):
        y = Y[:, batch]
        for residual_map in residual_maps:
            residuals = residual_map(y)  # (batch, n_alphas, n_held_out)
            mean_square = xp.astype(xp.linalg.vecdot(residuals, residuals), xp.float64) / residuals.shape[2]
            if total is None:
                total = xp.zeros((mean_square.shape[1], Y.shape[1]), dtype=xp.float64, device=_device_of(Y))
            total[:, batch] += mean_square.T
    return -total / len(residual_maps)


def select_alphas(scores: Any, alphas: Any, alpha_per_target: bool) -> Any:
    """Index of each target's best alpha (the best mean over targets without ``alpha_per_target``);
    NaN scores lose, ties go to the larger alpha.

    >>> select_alphas(np.array([[-1.0, -2.0], [-1.0, -3.0]]), np.array([1.0, 10.0]), True).tolist()
    [1, 0]
    """
    xp = namespace(scores)
    ranked = xp.where(xp.isnan(scores), xp.full_like(scores, -math.inf), scores)
    log_alphas = xp.log(xp.astype(alphas, xp.float64))
    ranked = ranked + TIE_BREAK_SLOPE * log_alphas[:, None]
    if not alpha_per_target:
        ranked = xp.mean(ranked, axis=1, keepdims=True) + xp.zeros_like(ranked)
    return xp.argmax(ranked, axis=0)


def target_batches(n_targets: int, rows_per_target: int, target_batch_size: int, dtype: Any) -> list[slice]:
    """Slices of at most ``target_batch_size`` targets, fewer when a batch's block of results
    (``rows_per_target`` × targets) would outgrow the context's ``working_memory``.

    >>> target_batches(5, 10, 2, np.float32)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    itemsize = 8 if "64" in str(dtype) else 4
    size = min(target_batch_size, rows_per_block(itemsize * rows_per_target, n_targets))
    return [slice(start, min(start + size, n_targets)) for start in range(0, n_targets, size)]


RIDGE_SOLVERS: dict[str, Callable[..., RidgeCVSolution]] = {
    "kernel": solve_ridge_cv_kernel,
    "primal": solve_ridge_cv_primal,
}
