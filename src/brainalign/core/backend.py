"""The array backend: code is written once against an array namespace (numpy or torch), like himalaya.

Backend, device and dtype default to the compute context (:func:`brainalign.core.config.config_context`).

>>> import numpy as np
>>> x = asarray(np.eye(2), backend="numpy")
>>> x.dtype, namespace(x).__name__
(dtype('float32'), 'array_api_compat.numpy')
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from brainalign.core.config import BACKENDS, DTYPES, BackendName, get_config
from brainalign.core.errors import InvalidInputError

__all__ = ["BACKENDS", "DTYPES", "BackendName", "asarray", "namespace", "to_numpy"]


def namespace(*arrays: Any) -> Any:
    """The array-API namespace of ``arrays`` (``array_api_compat.numpy`` or ``array_api_compat.torch``)."""
    return array_api_compat.array_namespace(*arrays)


def asarray(x: Any, backend: BackendName | None = None, device: str | None = None, dtype: str | None = None) -> Any:
    """Convert ``x`` (numpy, torch, xarray, list) to the backend's array of ``dtype`` on ``device``.

    Arguments left ``None`` come from the compute context.
    """
    config = get_config()
    backend = backend or config["backend"]
    dtype = dtype or config["dtype"]
    if dtype not in DTYPES:
        raise InvalidInputError(f"dtype {dtype!r} is not supported; valid: {', '.join(DTYPES)}")
    if hasattr(x, "values") and not callable(x.values):  # xarray / pandas
        x = x.values
    if backend == "numpy":
        if array_api_compat.is_torch_array(x):
            x = x.detach().cpu().numpy()
        return np.asarray(x, dtype=dtype)
    if backend == "torch":
        import torch

        # read-only (RDM) arrays are copied
        tensor = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.require(np.asarray(x), requirements="W"))
        return tensor.to(device=device or config["device"] or "cpu", dtype=getattr(torch, dtype))
    raise InvalidInputError(f"backend {backend!r} is not supported; valid: {', '.join(BACKENDS)}")


def to_numpy(x: Any) -> np.ndarray:
    """Any backend array as a numpy array (copied to host memory when on a GPU)."""
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)
