"""Input checks shared by the mapping estimators.

At ``fit`` time arrays take the compute context's settings (``brainalign.core.config``; torch inputs keep
their device); at ``predict`` / ``transform`` time new inputs take the fitted arrays' backend, device and
dtype, so a model fitted inside ``config_context(dtype="float64")`` predicts in float64 anywhere.

>>> import numpy as np
>>> X, Y = fit_matrices(np.ones((3, 2)), np.zeros(3))
>>> X.dtype, Y.shape
(dtype('float32'), (3, 1))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.core.backend import asarray, namespace, to_numpy
from brainalign.core.config import compute_settings
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import check_finite


def fit_matrices(X: Any, Y: Any | None = None, *, min_samples: int = 1, needs_y: bool = False
                 ) -> tuple[Any, Any | None]:
    """``X`` (samples × features) and ``Y`` (samples × targets; 1-D becomes one column) as finite matrices
    with the context's compute settings.

    >>> import numpy as np
    >>> fit_matrices(np.ones((1, 2)), min_samples=2)
    Traceback (most recent call last):
    ...
    brainalign.core.errors.InvalidInputError: need at least 2 samples to fit; got 1 sample
    """
    if needs_y and Y is None:
        raise InvalidInputError("this estimator requires y to be passed, but the target y is None")
    backend, device, dtype, _ = compute_settings(X, Y)
    X = _matrix(X, "X", backend, device, dtype)
    if X.shape[0] < min_samples:
        raise InvalidInputError(f"need at least {min_samples} samples to fit; got {X.shape[0]} sample"
                                + ("s" if X.shape[0] != 1 else ""))
    if Y is None:
        return X, None
    Y = _matrix(Y, "Y", backend, device, dtype, allow_1d=True)
    if Y.shape[0] != X.shape[0]:
        raise InvalidInputError(f"Y must have shape ({X.shape[0]}, targets) to match X; got {tuple(Y.shape)}")
    return X, Y


def like_fitted(X: Any, fitted: Any, n_features: int, estimator: Any) -> Any:
    """New input ``X`` as a finite matrix of the fitted array's backend, device and dtype, with the fitted
    number of features.

    >>> import numpy as np
    >>> like_fitted([[1, 2]], np.zeros(1), 2, None).dtype
    dtype('float64')
    """
    if type(fitted).__module__.startswith("torch"):
        backend, device, dtype = "torch", str(fitted.device), str(fitted.dtype).removeprefix("torch.")
    else:
        backend, device, dtype = "numpy", None, str(fitted.dtype)
    X = _matrix(X, "X", backend, device, dtype)
    if X.shape[1] != n_features:
        raise InvalidInputError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                                f"{n_features} features as input")
    return X


def one_dimensional(y: Any) -> bool:
    """Whether a target argument is a single 1-D column (its predictions are then returned 1-D)."""
    if y is None:
        return False
    ndim = getattr(y, "ndim", None)
    return (np.asarray(y).ndim if ndim is None else ndim) == 1


def check_dense(values: Any, what: str) -> None:
    """An error for sparse matrices, which the estimators do not accept.

    >>> import scipy.sparse
    >>> check_dense(scipy.sparse.eye(2), "X")
    Traceback (most recent call last):
    ...
    brainalign.core.errors.InvalidInputError: X is a sparse matrix; sparse input is not supported, pass a dense array
    """
    import scipy.sparse

    if scipy.sparse.issparse(values):
        raise InvalidInputError(f"{what} is a sparse matrix; sparse input is not supported, pass a dense array")


def _matrix(values: Any, what: str, backend: str, device: str | None, dtype: str, allow_1d: bool = False) -> Any:
    check_dense(values, what)
    if values.is_complex() if hasattr(values, "is_complex") else np.asarray(values).dtype.kind == "c":
        raise InvalidInputError(f"{what}: Complex data not supported")
    try:
        array = asarray(values, backend, device, dtype)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{what} must hold numbers; converting it to {dtype} failed: {error}") from None
    if allow_1d and array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InvalidInputError(f"{what} must be a 2D (samples, columns) matrix; got shape {tuple(array.shape)}"
                                + (" (Expected 2D array, got 1D array. Reshape your data: X.reshape(-1, 1) for "
                                   "one feature, X.reshape(1, -1) for one sample)" if array.ndim == 1 else ""))
    if array.shape[1] == 0:
        raise InvalidInputError(f"{what} has 0 feature(s) (shape={tuple(array.shape)}) while a minimum of 1 is "
                                f"required.")
    xp = namespace(array)
    if not bool(xp.all(xp.isfinite(array))):
        check_finite(to_numpy(array), what)
    return array
