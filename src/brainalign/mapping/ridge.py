"""Ridge regression with the regularisation chosen by cross-validation, per target, on any array backend.

Two forms, picked by ``solver`` (``"auto"``: kernel when features outnumber stimuli):

* **kernel** — one eigendecomposition of the n × n linear kernel gives, for every alpha, the inverse
  ``M = (K + alpha I)⁻¹`` (with an unpenalised intercept: restricted to the stimuli's centred subspace).
  Held-out residuals then need no refit per fold: leaving out the stimuli ``T`` and training on the
  rest gives residuals ``M_TT⁻¹ (M y)_T`` exactly (the leave-group-out identity of penalised least
  squares), i.e. held-out predictions ``-M_TT⁻¹ M_T,train y_train``; leave-one-out is the special case
  ``(M y)_i / M_ii`` (Rifkin & Lippert 2007). The final weights are ``M y`` with each target's alpha.
  Per target, all the work is a few large matrix products.
* **primal** — for fewer features than stimuli: each fold's centred training features are
  diagonalised by an SVD, in which ridge is the filter ``s / (s² + alpha)``.

The alpha choice reproduces the reference libraries exactly:

* ``cv=<int or splits>``: each alpha scores the mean over folds of the negative mean squared
  error on the held-out stimuli, ties going to the larger alpha — himalaya's ``RidgeCV`` and
  ``KernelRidgeCV`` rule.
* ``cv="loo"``: the exact leave-one-out error, as ``sklearn.linear_model.RidgeCV(alpha_per_target=True)``.

With ``fit_intercept`` the features and targets of each fit are centred on its training stimuli
(the intercept is not penalised).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(60, 5))
>>> Y = X @ rng.normal(size=(5, 3)) + 0.1 * rng.normal(size=(60, 3))
>>> model = RidgeCV(alphas=[0.01, 1.0, 1e4], cv=5, dtype="float64").fit(X, Y)
>>> model.best_alphas_.tolist(), model.predict(X).shape
([0.01, 0.01, 0.01], (60, 3))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from array_api_compat import device as _device_of

from brainalign.core.backend import BackendName, asarray, namespace, to_numpy
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import check_finite
from brainalign.mapping.cv import Splits, check_splits, kfold_splits

DEFAULT_ALPHAS = np.logspace(-2, 7, 10)
SOLVERS = ("auto", "primal", "kernel")
# himalaya's tie-break: a slope of 1e-10 per e-fold of alpha makes equal scores pick the larger alpha.
TIE_BREAK_SLOPE = 1e-10
# Target batches keep each batch's block of residuals (alphas × held-out stimuli × targets) near 16 MB in
# float32: large enough for efficient matrix products, small enough to stay in a CPU's last-level cache
# for the elementwise passes that follow.
BLOCK_ELEMENTS = 2**22

# y_train (n_train × targets) -> held-out predictions (n_alphas, n_test, targets)
HeldOutPredictor = Callable[[Any], Any]


class RidgeCV:
    """Ridge regression whose penalty is chosen per target (or shared) by cross-validation.

    ``cv`` is a number of shuffled folds (seeded by ``seed``), ``"loo"`` for exact leave-one-out,
    or a list of ``(train_idx, test_idx)`` splits. ``solver`` picks the primal (SVD of the
    features) or kernel (eigendecomposition of the n × n Gram matrix) form; ``"auto"`` takes the
    kernel form when features outnumber stimuli. ``target_batch_size`` bounds memory: targets are
    processed in batches of at most that many columns.

    After ``fit``: ``best_alphas_`` (per target), ``alpha_scores_`` (n_alphas × n_targets, the CV
    criterion, float64), ``coef_`` and ``intercept_`` (in the kernel form ``dual_coef_`` is stored
    and ``coef_`` is computed from it on first access). All are arrays of the chosen backend.

    >>> import numpy as np
    >>> X = np.random.default_rng(1).normal(size=(20, 50))
    >>> RidgeCV(alphas=[1.0, 10.0], cv="loo").fit(X, X[:, :2]).solver_
    'kernel'
    """

    def __init__(
        self,
        alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
        cv: int | Literal["loo"] | Splits = 5,
        alpha_per_target: bool = True,
        fit_intercept: bool = True,
        solver: Literal["auto", "primal", "kernel"] = "auto",
        backend: BackendName = "numpy",
        device: str | None = None,
        dtype: str = "float32",
        target_batch_size: int = 2048,
        seed: int = 0,
    ):
        self.alphas, self.cv, self.alpha_per_target = alphas, cv, alpha_per_target
        self.fit_intercept, self.solver = fit_intercept, solver
        self.backend, self.device, self.dtype = backend, device, dtype
        self.target_batch_size, self.seed = target_batch_size, seed

    # ------------------------------------------------------------------ public API
    def fit(self, X: Any, Y: Any) -> "RidgeCV":
        """Choose each target's alpha by cross-validation, then refit on all stimuli."""
        X, Y = self._as_matrix(X, "X"), self._as_matrix(Y, "Y")
        if Y.shape[0] != X.shape[0]:
            raise InvalidInputError(f"X has {X.shape[0]} stimuli but Y has {Y.shape[0]}")
        if self.solver not in SOLVERS:
            raise InvalidInputError(f"solver {self.solver!r} is not supported; valid: {', '.join(SOLVERS)}")
        if self.target_batch_size < 1:
            raise InvalidInputError(f"target_batch_size must be positive; got {self.target_batch_size}")
        if isinstance(self.cv, str) and self.cv != "loo":
            raise InvalidInputError(f"cv {self.cv!r} is not supported; valid: an int, 'loo', or a list of splits")
        xp = namespace(X)
        n, n_features = X.shape
        self.solver_ = self.solver if self.solver != "auto" else ("kernel" if n_features > n else "primal")
        alphas = self._checked_alphas()
        splits = None if isinstance(self.cv, str) else (
            kfold_splits(n, self.cv, shuffle=True, seed=self.seed) if isinstance(self.cv, int)
            else check_splits(self.cv, n))

        zeros = xp.zeros((1, n_features), dtype=X.dtype, device=_device_of(X))
        self.x_mean_ = xp.mean(X, axis=0, keepdims=True) if self.fit_intercept else zeros
        self.y_mean_ = xp.mean(Y, axis=0, keepdims=True) if self.fit_intercept else xp.zeros_like(Y[:1])
        Xc, Yc = X - self.x_mean_, Y - self.y_mean_
        fit_form = self._fit_kernel_form if self.solver_ == "kernel" else self._fit_primal_form
        self.alpha_scores_, best = fit_form(Xc, Yc, splits, alphas)
        self.best_alphas_ = xp.take(alphas, best, axis=0)
        return self

    def _fit_kernel_form(self, Xc: Any, Yc: Any, splits: Splits | None, alphas: Any) -> tuple[Any, Any]:
        """CV scores and best-alpha indices from the penalised inverses of the Gram matrix; stores dual weights."""
        gram = Xc @ Xc.T
        inverses = _penalised_inverses(gram, alphas, center=self.fit_intercept)
        if splits is None:
            scores = self._leave_one_out_scores_kernel(inverses, Yc)
        else:
            def predictor_of(train, test):
                return _kernel_held_out_predictor(gram, inverses, alphas, train, test, center=self.fit_intercept)
            scores = self._kfold_scores(Yc, splits, alphas.shape[0], predictor_of)
        best = self._select_alphas(scores)
        self.X_fit_, self.dual_coef_, self._coef = Xc, _weights_per_alpha(inverses, Yc, best), None
        return scores, best

    def _fit_primal_form(self, Xc: Any, Yc: Any, splits: Splits | None, alphas: Any) -> tuple[Any, Any]:
        """CV scores and best-alpha indices from SVDs of the features (one per fold); stores the weights."""
        xp = namespace(Xc)
        full = _SVDBasis.of(Xc)
        if splits is None:
            scores = self._leave_one_out_scores_primal(full, Yc, alphas)
        else:
            def predictor_of(train, test):
                fold = _SVDBasis.of(xp.take(Xc, train, axis=0), center=self.fit_intercept)
                return fold.held_out_predictor(xp.take(Xc, test, axis=0), alphas, intercept=self.fit_intercept)
            scores = self._kfold_scores(Yc, splits, alphas.shape[0], predictor_of)
        best = self._select_alphas(scores)
        self._coef = self._primal_refit(full, Yc, xp.take(alphas, best, axis=0))
        return scores, best

    def predict(self, X: Any) -> Any:
        """Predicted responses (stimuli × targets) for new stimuli ``X``."""
        X = self._as_matrix(X, "X")
        if self.solver_ == "kernel":
            return ((X - self.x_mean_) @ self.X_fit_.T) @ self.dual_coef_ + self.y_mean_
        return (X - self.x_mean_) @ self._coef + self.y_mean_

    @property
    def coef_(self) -> Any:
        """Weights (features × targets); in the kernel form computed once from ``dual_coef_``."""
        if getattr(self, "_coef", None) is None:
            self._coef = self.X_fit_.T @ self.dual_coef_
        return self._coef

    @property
    def intercept_(self) -> Any:
        """Intercept per target (zeros without ``fit_intercept``)."""
        return (self.y_mean_ - self.x_mean_ @ self.coef_)[0]

    # ------------------------------------------------------------------ cross-validation criteria
    def _kfold_scores(self, Yc: Any, splits: Splits, n_alphas: int,
                      predictor_of: Callable[[Any, Any], HeldOutPredictor]) -> Any:
        """Mean over folds of the held-out negative MSE, (n_alphas, n_targets) in float64."""
        xp = namespace(Yc)
        total = xp.zeros((n_alphas, Yc.shape[1]), dtype=xp.float64, device=_device_of(Yc))
        for train, test in splits:
            train, test = (xp.asarray(i, device=_device_of(Yc)) for i in (train, test))
            predict = predictor_of(train, test)
            for batch in self._target_batches(Yc.shape[1], n_alphas * test.shape[0]):
                errors = predict(xp.take(Yc[:, batch], train, axis=0))  # (n_alphas, n_test, batch)
                errors -= xp.take(Yc[:, batch], test, axis=0)[None]
                errors *= errors
                total[:, batch] += xp.astype(xp.mean(errors, axis=1), xp.float64)
        return -total / len(splits)

    def _leave_one_out_scores_kernel(self, inverses: Any, Yc: Any) -> Any:
        """Negative mean squared leave-one-out error from the penalised inverses: residuals ``(M y)_i / M_ii``."""
        xp = namespace(Yc)
        n_alphas, n, _ = inverses.shape
        inverse_diagonal = 1.0 / xp.linalg.diagonal(inverses)[:, :, None]  # (n_alphas, n, 1)
        stacked = xp.reshape(inverses, (n_alphas * n, n))
        scores = xp.zeros((n_alphas, Yc.shape[1]), dtype=xp.float64, device=_device_of(Yc))
        for batch in self._target_batches(Yc.shape[1], n_alphas * n):
            residuals = xp.reshape(stacked @ Yc[:, batch], (n_alphas, n, -1))
            residuals *= inverse_diagonal
            residuals *= residuals
            scores[:, batch] = -xp.astype(xp.mean(residuals, axis=1), xp.float64)
        return scores

    def _leave_one_out_scores_primal(self, full: "_SVDBasis", Yc: Any, alphas: Any) -> Any:
        """Negative mean squared leave-one-out error from the thin SVD ``Xc = U S Vᵀ``.

        ``M = (Xc Xcᵀ + alpha I)⁻¹ = U diag(1/(s²+α)) Uᵀ + (I - U Uᵀ)/α``, the second term vanishing
        when U is square. An unpenalised intercept restricts M to the centred subspace: U's columns
        are centred (``Ũ``) and the null-space term becomes ``(I - 11ᵀ/n - Ũ Ũᵀ)/α``. Residuals are
        ``(M y)_i / M_ii``; written this way no large terms cancel.
        """
        xp = namespace(Yc)
        n, rank = full.U.shape
        filters = 1.0 / (full.eigenvalues[None, :] + alphas[:, None])  # (n_alphas, rank)
        U = full.U - xp.mean(full.U, axis=0, keepdims=True) if self.fit_intercept else full.U
        diagonal = filters @ (U * U).T  # (n_alphas, n)
        if rank < n:
            outside = 1.0 - xp.sum(U * U, axis=1) - (1.0 / n if self.fit_intercept else 0.0)
            diagonal = diagonal + outside[None, :] / alphas[:, None]
        scores = xp.zeros((alphas.shape[0], Yc.shape[1]), dtype=xp.float64, device=_device_of(Yc))
        for batch in self._target_batches(Yc.shape[1], alphas.shape[0] * n):
            y = Yc[:, batch]
            projected = U.T @ y  # (rank, batch)
            residuals = U @ (filters[:, :, None] * projected[None])  # (n_alphas, n, batch)
            if rank < n:
                residuals += (y - U @ projected)[None] / alphas[:, None, None]
            residuals /= diagonal[:, :, None]
            residuals *= residuals
            scores[:, batch] = -xp.astype(xp.mean(residuals, axis=1), xp.float64)
        return scores

    def _select_alphas(self, scores: Any) -> Any:
        """Index of each target's best alpha (the best mean over targets without ``alpha_per_target``)."""
        xp = namespace(scores)
        ranked = xp.where(xp.isnan(scores), xp.full_like(scores, -math.inf), scores)
        log_alphas = np.log(np.atleast_1d(np.asarray(self.alphas, dtype=float)))
        ranked = ranked + TIE_BREAK_SLOPE * asarray(log_alphas, self.backend, self.device, "float64")[:, None]
        if not self.alpha_per_target:
            ranked = xp.mean(ranked, axis=1, keepdims=True) + xp.zeros_like(ranked)
        return xp.argmax(ranked, axis=0)

    # ------------------------------------------------------------------ refit
    def _primal_refit(self, full: "_SVDBasis", Yc: Any, best_alphas: Any) -> Any:
        """Weights ``V diag(s/(s²+α)) Uᵀ y`` with each target's alpha."""
        xp = namespace(Yc)
        weights = []
        for batch in self._target_batches(Yc.shape[1], Yc.shape[0]):
            filtered = (full.U.T @ Yc[:, batch]) / (full.eigenvalues[:, None] + best_alphas[batch][None, :])
            weights.append(full.V @ (full.singular_values[:, None] * filtered))
        return xp.concat(weights, axis=1)

    # ------------------------------------------------------------------ helpers
    def _as_matrix(self, values: Any, what: str) -> Any:
        array = asarray(values, self.backend, self.device, self.dtype)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise InvalidInputError(f"{what} must be a (stimuli, columns) matrix; got shape {tuple(array.shape)}")
        xp = namespace(array)
        if not bool(xp.all(xp.isfinite(array))):
            check_finite(to_numpy(array), what)
        return array

    def _checked_alphas(self) -> Any:
        values = np.atleast_1d(np.asarray(self.alphas, dtype=float))
        if values.ndim != 1 or values.size == 0 or not (np.isfinite(values) & (values > 0)).all():
            raise InvalidInputError(f"alphas must be a non-empty list of positive numbers; got {self.alphas!r}")
        return asarray(values, self.backend, self.device, self.dtype)

    def _target_batches(self, n_targets: int, rows_per_target: int) -> list[slice]:
        """Slices of at most ``target_batch_size`` targets, fewer when a batch's result block
        (``rows_per_target`` × targets) would outgrow ``BLOCK_ELEMENTS``."""
        size = max(1, min(self.target_batch_size, BLOCK_ELEMENTS // rows_per_target))
        return [slice(start, min(start + size, n_targets)) for start in range(0, n_targets, size)]


# ---------------------------------------------------------------------- kernel form
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


def _kernel_held_out_predictor(gram: Any, inverses: Any, alphas: Any, train: Any, test: Any, *,
                               center: bool) -> HeldOutPredictor:
    """Predictions on ``test`` of ridge fitted on ``train``, all alphas: ``-M_TT⁻¹ M_T,train y_train``.

    ``M`` are the penalised inverses over ``train ∪ test`` — the precomputed ones when the split covers
    every stimulus (K-fold), else computed for that union.
    """
    xp = namespace(gram)
    n = gram.shape[0]
    if train.shape[0] + test.shape[0] != n:  # the split leaves stimuli out: diagonalise its own union
        union = xp.sort(xp.concat([train, test]))
        inverses = _penalised_inverses(xp.take(xp.take(gram, union, axis=0), union, axis=1), alphas, center=center)
        train, test = xp.searchsorted(union, train), xp.searchsorted(union, test)
    test_rows = xp.take(inverses, test, axis=1)  # (n_alphas, n_test, n)
    # an explicit inverse of the small n_test × n_test blocks: faster than a solve, and as accurate here
    predictor = -(xp.linalg.inv(xp.take(test_rows, test, axis=2)) @ xp.take(test_rows, train, axis=2))
    n_alphas, n_test, n_train = predictor.shape
    stacked = xp.reshape(predictor, (n_alphas * n_test, n_train))
    return lambda y_train: xp.reshape(stacked @ y_train, (n_alphas, n_test, -1))


def _weights_per_alpha(inverses: Any, Yc: Any, best: Any) -> Any:
    """Dual weights ``M[best_j] y_j`` per target: one product per alpha over the targets that chose it."""
    xp = namespace(Yc)
    weights = xp.zeros_like(Yc)
    for a in range(inverses.shape[0]):
        chosen = xp.nonzero(best == a)[0]
        if chosen.shape[0] == Yc.shape[1]:
            return inverses[a] @ Yc
        if chosen.shape[0]:
            weights[:, chosen] = inverses[a] @ xp.take(Yc, chosen, axis=1)
    return weights


# ---------------------------------------------------------------------- primal form
class _SVDBasis:
    """Features diagonalised, ``X = U diag(s) Vᵀ`` (thin); ``eigenvalues`` are ``s²``, the kernel's."""

    def __init__(self, U: Any, singular_values: Any, V: Any, mean: Any):
        self.U, self.singular_values, self.V, self.mean = U, singular_values, V, mean
        self.eigenvalues = singular_values * singular_values

    @classmethod
    def of(cls, X: Any, *, center: bool = False) -> "_SVDBasis":
        """The SVD of ``X``, centred first on its rows' mean with ``center``."""
        xp = namespace(X)
        mean = xp.mean(X, axis=0, keepdims=True) if center else None
        U, s, Vt = xp.linalg.svd(X - mean if center else X, full_matrices=False)
        return cls(U, s, Vt.T, mean)

    def held_out_predictor(self, X_test: Any, alphas: Any, *, intercept: bool) -> HeldOutPredictor:
        """Predictions on ``X_test`` of ridge fitted on this basis' stimuli, all alphas at once.

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
            return lambda y: xp.reshape(left @ (right @ y), (n_alphas, n_test, -1))
        through_train = left @ right
        return lambda y: xp.reshape(through_train @ y, (n_alphas, n_test, -1))
