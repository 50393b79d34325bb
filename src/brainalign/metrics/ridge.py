"""Ridge regression with the regularisation chosen by cross-validation, per target, on any array backend.

Every fit — one per CV fold, plus the final refit — is diagonalised once: an SVD of the centred
features when there are fewer features than stimuli (primal form), an eigendecomposition of the
n × n linear kernel otherwise (kernel form). In that basis, ridge with penalty ``alpha`` is a
filter ``1 / (eigenvalue + alpha)``, so all alphas are swept with small arrays, the predictions
of every alpha for a batch of targets come from one matrix product, and weights are formed only
once, for each target's chosen alpha.

The alpha choice reproduces the reference libraries exactly:

* ``cv=<int or splits>``: each alpha scores the mean over folds of the negative mean squared
  error on the held-out stimuli, ties going to the larger alpha — himalaya's ``RidgeCV`` and
  ``KernelRidgeCV`` rule.
* ``cv="loo"``: the exact leave-one-out error from the single decomposition of all stimuli
  (Rifkin & Lippert 2007), as ``sklearn.linear_model.RidgeCV(alpha_per_target=True)`` does.

With ``fit_intercept`` the features and targets of each fit are centred on its training stimuli
(the intercept is not penalised).

import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(60, 5))
>>> Y = X @ rng.normal(size=(5, 3)) + 0.1 * rng.normal(size=(60, 3))
>>> model = RidgeCV(alphas=[0.01, 1.0, 1e4], cv=5, dtype="float64").fit(X, Y)
>>> model.best_alphas_.tolist(), model.predict(X).shape
([0.01, 0.01, 0.01], (60, 3))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from array_api_compat import device as _device_of
import numpy as np

from brainalign.core.backend import BackendName, asarray, namespace, to_numpy
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import check_finite
from brainalign.metrics.cv import Splits, check_splits, kfold_splits

DEFAULT_ALPHAS = np.logspace(-2, 7, 10)
SOLVERS = ("auto", "primal", "kernel")
# himalaya's tie-break: a slope of 1e-10 per e-fold of alpha makes equal scores pick the larger alpha.
TIE_BREAK_SLOPE = 1e-10


class RidgeCV:
    """Ridge regression whose penalty is chosen per target (or shared) by cross-validation.

    ``cv`` is a number of shuffled folds (seeded by ``seed``), ``"loo"`` for exact leave-one-out,
    or a list of ``(train_idx, test_idx)`` splits. ``solver`` picks the primal (SVD of the
    features) or kernel (eigendecomposition of the n × n Gram matrix) form; ``"auto"`` takes the
    kernel form when features outnumber stimuli. ``target_batch_size`` bounds memory: targets are
    processed in batches of that many columns.

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
        target_batch_size: int = 1024,
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
        xp = namespace(X)
        n, n_features = X.shape
        self.solver_ = self.solver if self.solver != "auto" else ("kernel" if n_features > n else "primal")
        alphas = self._checked_alphas()

        zeros = xp.zeros((1, n_features), dtype=X.dtype, device=_device_of(X))
        self.x_mean_ = xp.mean(X, axis=0, keepdims=True) if self.fit_intercept else zeros
        self.y_mean_ = xp.mean(Y, axis=0, keepdims=True) if self.fit_intercept else xp.zeros_like(Y[:1])
        Xc, Yc = X - self.x_mean_, Y - self.y_mean_
        gram = Xc @ Xc.T if self.solver_ == "kernel" else None
        if isinstance(self.cv, str):
            if self.cv != "loo":
                raise InvalidInputError(f"cv {self.cv!r} is not supported; valid: an int, 'loo', or a list of splits")
            full = _Basis.of_training_set(Xc, gram, center=False)
            scores = self._leave_one_out_scores(full, Yc, alphas)
        else:
            splits = kfold_splits(n, self.cv, shuffle=True, seed=self.seed) if isinstance(self.cv, int) \
                else check_splits(self.cv, n)
            scores = self._kfold_scores(Xc, gram, Y, splits, alphas)
            full = _Basis.of_training_set(Xc, gram, center=False)

        self.alpha_scores_ = scores
        self.best_alphas_ = self._select_alphas(scores, alphas)
        self._refit(full, Xc, Yc)
        return self

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
    def _kfold_scores(self, Xc: Any, gram: Any, Y: Any, splits: Splits, alphas: Any) -> Any:
        """Mean over folds of the held-out negative MSE, (n_alphas, n_targets) in float64."""
        xp = namespace(Xc)
        total = xp.zeros((alphas.shape[0], Y.shape[1]), dtype=xp.float64, device=_device_of(Xc))
        for train, test in splits:
            train, test = (xp.asarray(i, device=_device_of(Xc)) for i in (train, test))
            if gram is None:
                basis = _Basis.of_training_set(xp.take(Xc, train, axis=0), None, center=self.fit_intercept,
                                               test_rows=xp.take(Xc, test, axis=0))
            else:
                rows = xp.take(gram, train, axis=0)
                basis = _Basis.of_training_set(None, xp.take(rows, train, axis=1), center=self.fit_intercept,
                                               test_gram=xp.take(xp.take(gram, test, axis=0), train, axis=1))
            predictor = basis.held_out_predictor(alphas)
            for batch in self._target_batches(Y.shape[1]):
                y_train = xp.take(Y[:, batch], train, axis=0)
                y_test = xp.take(Y[:, batch], test, axis=0)
                if self.fit_intercept:
                    train_mean = xp.mean(y_train, axis=0, keepdims=True)
                    y_train, y_test = y_train - train_mean, y_test - train_mean
                predictions = predictor(y_train)  # (n_alphas, n_test, batch)
                mse = xp.mean((y_test[None] - predictions) ** 2, axis=1)
                total[:, batch] += xp.astype(mse, xp.float64)
        return -total / len(splits)

    def _leave_one_out_scores(self, full: "_Basis", Yc: Any, alphas: Any) -> Any:
        """Negative mean squared leave-one-out error, (n_alphas, n_targets) in float64.

        With ``G = K + alpha I`` the held-out residuals are ``(G⁻¹ y)_i / (G⁻¹)_ii`` (Rifkin & Lippert 2007).
        In the basis ``K = U diag(λ) Uᵀ``, ``G⁻¹ = U diag(1/(λ+α)) Uᵀ + (I - U Uᵀ)/α``, the second term
        vanishing when U is complete (kernel form). An unpenalised intercept removes the constant
        direction: U's columns are centred and ``1/n`` leaves the null-space term. Written this way
        no large terms cancel, so float32 stays accurate even when ridge nearly interpolates.
        """
        xp = namespace(Yc)
        n, rank = full.U.shape
        filters = 1.0 / (full.eigenvalues[None, :] + alphas[:, None])  # (n_alphas, rank)
        U = full.U - xp.mean(full.U, axis=0, keepdims=True) if self.fit_intercept else full.U
        diagonal = (U * U) @ filters.T  # (n, n_alphas)
        outside = None
        if rank < n:  # thin basis: add the null-space term (I - U Uᵀ - 11ᵀ/n)_ii / α
            outside = 1.0 - xp.sum(full.U * full.U, axis=1) - (1.0 / n if self.fit_intercept else 0.0)
            diagonal = diagonal + outside[:, None] / alphas[None, :]
        scores = xp.zeros((alphas.shape[0], Yc.shape[1]), dtype=xp.float64, device=_device_of(Yc))
        for batch in self._target_batches(Yc.shape[1]):
            y = Yc[:, batch]
            projected = full.U.T @ y  # (rank, batch)
            remainder = None if outside is None else y - full.U @ projected
            for a in range(alphas.shape[0]):
                dual = U @ (filters[a][:, None] * projected)
                if remainder is not None:
                    dual = dual + remainder / alphas[a]
                residual = dual / diagonal[:, a:a + 1]
                scores[a, batch] = -xp.astype(xp.mean(residual * residual, axis=0), xp.float64)
        return scores

    def _select_alphas(self, scores: Any, alphas: Any) -> Any:
        xp = namespace(scores)
        ranked = xp.where(xp.isnan(scores), xp.full_like(scores, -math.inf), scores)
        ranked = ranked + TIE_BREAK_SLOPE * xp.log(xp.astype(alphas, xp.float64))[:, None]
        if not self.alpha_per_target:
            ranked = xp.mean(ranked, axis=1, keepdims=True) + xp.zeros_like(ranked)
        return xp.take(alphas, xp.argmax(ranked, axis=0), axis=0)

    # ------------------------------------------------------------------ refit
    def _refit(self, full: "_Basis", Xc: Any, Yc: Any) -> None:
        xp = namespace(Yc)
        weights = []
        for batch in self._target_batches(Yc.shape[1]):
            projected = full.U.T @ Yc[:, batch]
            filtered = projected / (full.eigenvalues[:, None] + self.best_alphas_[batch][None, :])
            # kernel form: dual weights U diag(1/(λ+α)) Uᵀ y; primal form: V diag(s/(s²+α)) Uᵀ y
            weights.append(full.U @ filtered if full.V is None else full.V @ (full.singular_values[:, None] * filtered))
        weights = xp.concat(weights, axis=1)
        if self.solver_ == "kernel":
            self.X_fit_, self.dual_coef_, self._coef = Xc, weights, None
        else:
            self._coef = weights

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

    def _target_batches(self, n_targets: int) -> list[slice]:
        size = self.target_batch_size
        return [slice(start, min(start + size, n_targets)) for start in range(0, n_targets, size)]


class _Basis:
    """One training set diagonalised: ``K_train = U diag(eigenvalues) Uᵀ`` (U possibly thin).

    Primal form keeps ``V`` and ``singular_values`` from ``X_train = U S Vᵀ``; ``test_factor``
    is ``K_test U`` (test × train kernel projected on the basis), so that held-out predictions are
    ``test_factor diag(1/(λ+α)) Uᵀ y_train``.
    """

    def __init__(self, U: Any, eigenvalues: Any, V: Any = None, singular_values: Any = None,
                 test_factor: Any = None):
        self.U, self.eigenvalues, self.V, self.singular_values = U, eigenvalues, V, singular_values
        self.test_factor = test_factor

    @classmethod
    def of_training_set(cls, X_train: Any, gram: Any, *, center: bool, test_rows: Any = None,
                        test_gram: Any = None) -> "_Basis":
        """Diagonalise features (primal, ``gram is None``) or a Gram block (kernel); ``center`` removes the
        training mean first, from the test rows / test kernel as well."""
        if gram is None:
            xp = namespace(X_train)
            if center:
                mean = xp.mean(X_train, axis=0, keepdims=True)
                X_train = X_train - mean
                test_rows = None if test_rows is None else test_rows - mean
            U, s, Vt = xp.linalg.svd(X_train, full_matrices=False)
            test_factor = None if test_rows is None else test_rows @ (Vt.T * s[None, :])
            return cls(U, s * s, V=Vt.T, singular_values=s, test_factor=test_factor)
        xp = namespace(gram)
        if center:  # centre in feature space on the training stimuli (sklearn's KernelCenterer)
            column_mean = xp.mean(gram, axis=0, keepdims=True)
            grand_mean = xp.mean(column_mean)
            if test_gram is not None:
                test_gram = test_gram - column_mean - xp.mean(test_gram, axis=1, keepdims=True) + grand_mean
            gram = gram - column_mean - column_mean.T + grand_mean
        eigenvalues, U = xp.linalg.eigh(gram)
        eigenvalues = xp.clip(eigenvalues, 0.0, None)  # rounding can make the null space slightly negative
        return cls(U, eigenvalues, test_factor=None if test_gram is None else test_gram @ U)

    def held_out_predictor(self, alphas: Any):
        """A function ``y_train -> predictions`` of shape (n_alphas, n_test, n_targets), all alphas at once.

        The alpha-dependent part is folded into one (n_alphas·n_test × k) matrix, k being the rank or
        the number of training stimuli, whichever makes the per-target work smaller.
        """
        xp = namespace(self.U)
        n_alphas = alphas.shape[0]
        (n_train, rank), n_test = self.U.shape, self.test_factor.shape[0]
        filters = 1.0 / (self.eigenvalues[None, :] + alphas[:, None])  # (n_alphas, rank)
        stacked = xp.reshape(self.test_factor[None, :, :] * filters[:, None, :], (n_alphas * n_test, rank))
        if rank * n_train + n_alphas * n_test * rank < n_alphas * n_test * n_train:
            return lambda y: xp.reshape(stacked @ (self.U.T @ y), (n_alphas, n_test, y.shape[1]))
        through_train = stacked @ self.U.T
        return lambda y: xp.reshape(through_train @ y, (n_alphas, n_test, y.shape[1]))
