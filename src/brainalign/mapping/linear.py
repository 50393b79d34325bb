"""Plain linear maps: ordinary least squares and neuron-to-neuron (best single source unit per target).

Both follow the sklearn protocol (``fit(X, Y)`` / ``predict(X)``), so they plug into
``cross_validated_encoding`` like ``RidgeCV``. :func:`as_matrices` is the input check they share with PLS.

>>> import numpy as np
>>> X = np.arange(12.0).reshape(6, 2) ** 1.5
>>> Y = X @ np.array([[1.0], [2.0]]) + 3
>>> bool(np.allclose(LinearRegression(dtype="float64").fit(X, Y).predict(X), Y))
True
"""

from __future__ import annotations

from typing import Any

from brainalign.core.backend import BackendName, asarray, namespace
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import check_finite


def as_matrices(
    X: Any, Y: Any | None, backend: BackendName, device: str | None, dtype: str
) -> tuple[Any, Any | None]:
    """``X`` (samples × features) and ``Y`` (samples × targets, 1-D allowed) as finite backend matrices.

    >>> import numpy as np
    >>> X, Y = as_matrices(np.ones((3, 2)), np.zeros(3), "numpy", None, "float32")
    >>> X.shape, Y.shape
    ((3, 2), (3, 1))
    """
    X = asarray(X, backend, device, dtype)
    if X.ndim != 2:
        raise InvalidInputError(f"X must be a (samples, features) matrix; got shape {tuple(X.shape)}")
    check_finite(_host(X), "X")
    if Y is None:
        return X, None
    Y = asarray(Y, backend, device, dtype)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
        raise InvalidInputError(f"Y must have shape ({X.shape[0]}, targets) to match X; got {tuple(Y.shape)}")
    check_finite(_host(Y), "Y")
    return X, Y


def _host(x: Any) -> Any:
    return x.detach().cpu() if hasattr(x, "detach") else x


class LinearRegression:
    """Least squares with intercept; the minimum-norm solution when features outnumber samples.

    Matches ``sklearn.linear_model.LinearRegression`` (which also returns the minimum-norm solution).
    """

    def __init__(self, backend: BackendName = "numpy", device: str | None = None, dtype: str = "float32"):
        self.backend, self.device, self.dtype = backend, device, dtype

    def fit(self, X: Any, Y: Any) -> "LinearRegression":
        X, Y = as_matrices(X, Y, self.backend, self.device, self.dtype)
        xp = namespace(X)
        x_mean, y_mean = xp.mean(X, axis=0), xp.mean(Y, axis=0)
        self.coef_ = xp.linalg.pinv(X - x_mean) @ (Y - y_mean)
        self.intercept_ = y_mean - x_mean @ self.coef_
        return self

    def predict(self, X: Any) -> Any:
        X, _ = as_matrices(X, None, self.backend, self.device, self.dtype)
        return X @ self.coef_ + self.intercept_


class NeuronToNeuron:
    """Map each target to the single source unit that correlates best with it on the training stimuli.

    ``best_units_`` holds, per target, the chosen source column; predictions are that unit's
    activations rescaled by a univariate least-squares fit, so the held-out correlation is the
    unit's own correlation with the target.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> Y = np.stack([X[:, 2], -X[:, 0]], axis=1)
    >>> NeuronToNeuron().fit(X, Y).best_units_.tolist()
    [2, 0]
    """

    def __init__(self, signed: bool = False, backend: BackendName = "numpy", device: str | None = None,
                 dtype: str = "float32"):
        self.signed, self.backend, self.device, self.dtype = signed, backend, device, dtype

    def fit(self, X: Any, Y: Any) -> "NeuronToNeuron":
        X, Y = as_matrices(X, Y, self.backend, self.device, self.dtype)
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
        return self

    def predict(self, X: Any) -> Any:
        X, _ = as_matrices(X, None, self.backend, self.device, self.dtype)
        xp = namespace(X)
        return xp.take(X, self.best_units_, axis=1) * self.slope_ + self.intercept_
