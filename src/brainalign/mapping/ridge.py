"""Ridge regression with the penalty chosen by cross-validation per target: a thin scikit-learn wrapper around
the solver functions of :mod:`brainalign.mapping._ridge_solvers` (``solver="kernel"`` or ``"primal"``).

Compute settings (backend, device, dtype, working memory) come from ``brainalign.core.config`` at ``fit``
time; torch inputs keep their device.

>>> import numpy as np
>>> from brainalign.core.config import config_context
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(60, 5))
>>> Y = X @ rng.normal(size=(5, 3)) + 0.1 * rng.normal(size=(60, 3))
>>> with config_context(dtype="float64"):
...     model = RidgeCV(alphas=[0.01, 1.0, 1e4], cv=5).fit(X, Y)
>>> model.best_alphas_.tolist(), model.predict(X).shape
([0.01, 0.01, 0.01], (60, 3))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.core.backend import namespace
from brainalign.core.errors import InvalidInputError
from brainalign.mapping._arrays import fit_matrices, like_fitted, one_dimensional
from brainalign.mapping._ridge_solvers import (
    CV,
    DEFAULT_ALPHAS,
    DEFAULT_CV,
    DEFAULT_TARGET_BATCH_SIZE,
    RIDGE_SOLVERS,
    checked_alphas,
)

__all__ = ["DEFAULT_ALPHAS", "DEFAULT_CV", "RidgeCV"]
SOLVERS = ("auto", *RIDGE_SOLVERS)


class RidgeCV(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Ridge regression whose penalty is chosen per target (or shared) by cross-validation.

    ``cv`` is a number of shuffled folds (seeded by ``seed``), ``"loo"`` for exact leave-one-out,
    or a list of ``(train_idx, test_idx)`` splits. ``solver`` picks the primal (SVD of the
    features) or kernel (eigendecomposition of the n × n Gram matrix) form; ``"auto"`` takes the
    kernel form when features outnumber stimuli. Targets are processed in batches of at most
    ``target_batch_size`` columns (fewer when the context's ``working_memory`` requires).

    After ``fit``: ``best_alphas_`` (per target), ``alpha_scores_`` (n_alphas × n_targets, the CV
    criterion, float64), ``coef_`` and ``intercept_`` (in the kernel form ``dual_coef_`` is stored
    and ``coef_`` is computed from it on first access). All are arrays of the fit's backend.

    >>> import numpy as np
    >>> X = np.random.default_rng(1).normal(size=(20, 50))
    >>> RidgeCV([1.0, 10.0], cv="loo").fit(X, X[:, :2]).solver_
    'kernel'
    """

    def __init__(self, alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS, *, cv: CV = DEFAULT_CV,
                 alpha_per_target: bool = True, fit_intercept: bool = True,
                 solver: Literal["auto", "primal", "kernel"] = "auto",
                 target_batch_size: int = DEFAULT_TARGET_BATCH_SIZE, seed: int = 0):
        self.alphas = alphas
        self.cv = cv
        self.alpha_per_target = alpha_per_target
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.target_batch_size = target_batch_size
        self.seed = seed

    def fit(self, X: Any, y: Any) -> RidgeCV:
        """Choose each target's alpha by cross-validation, then refit on all stimuli."""
        if self.solver not in SOLVERS:
            raise InvalidInputError(f"solver {self.solver!r} is not supported; valid: {', '.join(SOLVERS)}")
        if not isinstance(self.target_batch_size, int) or self.target_batch_size < 1:
            raise InvalidInputError(f"target_batch_size must be a positive integer; got {self.target_batch_size!r}")
        X, Y = fit_matrices(X, y, min_samples=2, needs_y=True)
        xp = namespace(X)
        n, n_features = X.shape
        alphas = checked_alphas(self.alphas, X)
        self.solver_ = self.solver if self.solver != "auto" else ("kernel" if n_features > n else "primal")
        self.x_mean_ = xp.mean(X, axis=0, keepdims=True) if self.fit_intercept else xp.zeros_like(X[:1])
        self.y_mean_ = xp.mean(Y, axis=0, keepdims=True) if self.fit_intercept else xp.zeros_like(Y[:1])
        Xc, Yc = X - self.x_mean_, Y - self.y_mean_
        solution = RIDGE_SOLVERS[self.solver_](
            Xc @ Xc.T if self.solver_ == "kernel" else Xc, Yc, alphas, self.cv, fit_intercept=self.fit_intercept,
            alpha_per_target=self.alpha_per_target, target_batch_size=self.target_batch_size, seed=self.seed)
        self.alpha_scores_ = solution.scores
        self.best_alphas_ = xp.take(alphas, solution.best, axis=0)
        if self.solver_ == "kernel":
            self.X_fit_, self.dual_coef_, self._coef = Xc, solution.weights, None
        else:
            self._coef = solution.weights
        self.n_features_in_, self._one_target = n_features, one_dimensional(y)
        return self

    def predict(self, X: Any) -> Any:
        """Predicted responses (stimuli × targets; 1-D when fitted on a 1-D ``y``) for new stimuli ``X``."""
        check_is_fitted(self, "best_alphas_")
        X = like_fitted(X, self.x_mean_, self.n_features_in_, self) - self.x_mean_
        if self.solver_ == "kernel":
            predicted = (X @ self.X_fit_.T) @ self.dual_coef_ + self.y_mean_
        else:
            predicted = X @ self._coef + self.y_mean_
        return predicted[:, 0] if self._one_target else predicted

    @property
    def coef_(self) -> Any:
        """Weights (features × targets); in the kernel form computed once from ``dual_coef_``."""
        check_is_fitted(self, "best_alphas_")
        if self._coef is None:
            self._coef = self.X_fit_.T @ self.dual_coef_
        return self._coef

    @property
    def intercept_(self) -> Any:
        """Intercept per target (zeros without ``fit_intercept``)."""
        return (self.y_mean_ - self.x_mean_ @ self.coef_)[0]
