"""Plain linear maps: ordinary least squares and neuron-to-neuron (best single source unit per target).

Both are scikit-learn estimators (``fit(X, y)`` / ``predict(X)``), so they plug into
``cross_validated_predictions`` like ``RidgeCV``; compute settings come from ``brainalign.core.config``.

>>> import numpy as np
>>> X = np.arange(12.0).reshape(6, 2) ** 1.5
>>> Y = X @ np.array([[1.0], [2.0]]) + 3
>>> bool(np.allclose(LinearRegression().fit(X, Y).predict(X), Y, rtol=1e-4))
True
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.core.backend import namespace
from brainalign.mapping._arrays import fit_matrices, like_fitted, one_dimensional


class LinearRegression(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Least squares with intercept; the minimum-norm solution when features outnumber samples.

    Matches ``sklearn.linear_model.LinearRegression`` (which also returns the minimum-norm solution).
    """

    def fit(self, X: Any, y: Any) -> LinearRegression:
        """Least-squares weights ``coef_`` (features × targets) and ``intercept_``."""
        X, Y = fit_matrices(X, y, needs_y=True)
        xp = namespace(X)
        x_mean, y_mean = xp.mean(X, axis=0), xp.mean(Y, axis=0)
        self.coef_ = xp.linalg.pinv(X - x_mean) @ (Y - y_mean)
        self.intercept_ = y_mean - x_mean @ self.coef_
        self.n_features_in_, self._one_target = X.shape[1], one_dimensional(y)
        return self

    def predict(self, X: Any) -> Any:
        """Predictions (samples × targets; 1-D when fitted on a 1-D ``y``)."""
        check_is_fitted(self, "coef_")
        predicted = like_fitted(X, self.coef_, self.n_features_in_, self) @ self.coef_ + self.intercept_
        return predicted[:, 0] if self._one_target else predicted


class NeuronToNeuron(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Map each target to the single source unit that correlates best with it on the training stimuli.

    ``best_units_`` holds, per target, the chosen source column (by ``|r|``, or by ``r`` with ``signed``);
    predictions are that unit's activations rescaled by a univariate least-squares fit, so the held-out
    correlation is the unit's own correlation with the target.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> Y = np.stack([X[:, 2], -X[:, 0]], axis=1)
    >>> NeuronToNeuron().fit(X, Y).best_units_.tolist()
    [2, 0]
    """

    def __init__(self, *, signed: bool = False):
        self.signed = signed

    def fit(self, X: Any, y: Any) -> NeuronToNeuron:
        """Choose each target's unit and its slope and intercept."""
        X, Y = fit_matrices(X, y, needs_y=True)
        xp = namespace(X)
        Xc, Yc = X - xp.mean(X, axis=0), Y - xp.mean(Y, axis=0)
        x_norm, y_norm = xp.linalg.vector_norm(Xc, axis=0), xp.linalg.vector_norm(Yc, axis=0)
        safe_x = xp.where(x_norm > 0, x_norm, xp.ones_like(x_norm))
        safe_y = xp.where(y_norm > 0, y_norm, xp.ones_like(y_norm))
        r = (Xc.T @ Yc) / (safe_x[:, None] * safe_y[None, :])  # units × targets
        self.best_units_ = xp.argmax(r if self.signed else xp.abs(r), axis=0)
        chosen = xp.take(X, self.best_units_, axis=1)
        chosen_c = chosen - xp.mean(chosen, axis=0)
        denom = xp.sum(chosen_c * chosen_c, axis=0)
        self.slope_ = xp.sum(chosen_c * Yc, axis=0) / xp.where(denom > 0, denom, xp.ones_like(denom))
        self.intercept_ = xp.mean(Y, axis=0) - self.slope_ * xp.mean(chosen, axis=0)
        self.n_features_in_, self._one_target = X.shape[1], one_dimensional(y)
        return self

    def predict(self, X: Any) -> Any:
        """The chosen units' activations, rescaled (samples × targets; 1-D when fitted on a 1-D ``y``)."""
        check_is_fitted(self, "best_units_")
        X = like_fitted(X, self.slope_, self.n_features_in_, self)
        predicted = namespace(X).take(X, self.best_units_, axis=1) * self.slope_ + self.intercept_
        return predicted[:, 0] if self._one_target else predicted
