"""Column-wise Pearson correlation between two (samples × columns) arrays, on any array backend.

A column that is constant (in either array) has no correlation: its r is NaN, and one warning
says how many columns were affected. With ``nan_policy="omit"`` each column uses only the rows
where both arrays are finite (pairwise deletion), as needed for data with missing repetitions.

>>> import numpy as np
>>> x = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]])
>>> pearson_r(x, x[:, ::-1]).round(3).tolist()
[0.5, 0.5]
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

from brainalign.core.backend import namespace
from brainalign.core.errors import InvalidInputError

NAN_POLICIES = ("propagate", "omit")


def pearson_r(x: Any, y: Any, *, nan_policy: Literal["propagate", "omit"] = "propagate") -> Any:
    """Pearson r of each column of ``x`` with the same column of ``y`` (both ``(n, t)``); returns ``(t,)``.

    Constant columns give NaN with one warning naming how many. The result is an array of the
    inputs' backend, device and dtype.

    >>> import numpy as np
    >>> x = np.array([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0]])
    >>> import warnings; warnings.simplefilter("ignore")
    >>> pearson_r(x, x).tolist()
    [1.0, nan]
    """
    if nan_policy not in NAN_POLICIES:
        raise InvalidInputError(f"nan_policy {nan_policy!r} is not supported; valid: {', '.join(NAN_POLICIES)}")
    xp = namespace(x, y)
    if x.ndim == 1 and y.ndim == 1:
        x, y = x[:, None], y[:, None]
    if tuple(x.shape) != tuple(y.shape) or x.ndim != 2:
        raise InvalidInputError(f"pearson_r needs two (n, t) arrays of the same shape; got {tuple(x.shape)} "
                                f"and {tuple(y.shape)}")
    if nan_policy == "omit":
        valid = xp.isfinite(x) & xp.isfinite(y)
    else:
        valid = xp.ones(x.shape, dtype=xp.bool, device=getattr(x, "device", None))
    weight = xp.astype(valid, x.dtype)
    count = xp.sum(weight, axis=0)
    x0, y0 = xp.where(valid, x, xp.zeros_like(x)), xp.where(valid, y, xp.zeros_like(y))
    xc = (x0 - xp.sum(x0, axis=0) / count) * weight
    yc = (y0 - xp.sum(y0, axis=0) / count) * weight
    constant = _is_constant(x, valid, xp) | _is_constant(y, valid, xp) | (count < 2)
    denominator = xp.sqrt(xp.sum(xc * xc, axis=0) * xp.sum(yc * yc, axis=0))
    denominator = xp.where(constant, xp.ones_like(denominator), denominator)
    r = xp.sum(xc * yc, axis=0) / denominator
    n_constant = int(xp.sum(xp.astype(constant, xp.int64)))
    if n_constant:
        warnings.warn(f"pearson_r: {n_constant} of {x.shape[1]} columns are constant (or have fewer than 2 "
                      f"valid rows); their correlation is NaN", RuntimeWarning, stacklevel=2)
    nan = xp.full_like(r, float("nan"))
    return xp.clip(xp.where(constant, nan, r), -1.0, 1.0)


def _is_constant(values: Any, valid: Any, xp: Any) -> Any:
    """True for columns whose valid entries are all equal (exact test, immune to rounding in the mean)."""
    inf = xp.full_like(values, float("inf"))
    return xp.max(xp.where(valid, values, -inf), axis=0) <= xp.min(xp.where(valid, values, inf), axis=0)
