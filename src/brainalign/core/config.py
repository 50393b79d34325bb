"""Where brainalign keeps things, and how it computes: one context like scikit-learn's ``config_context``.

Locations come from the environment: ``BRAINALIGN_CACHE`` (default ``~/.cache/brainalign``) and
``BRAINALIGN_MIRROR`` (directories separated by ``os.pathsep``, searched before any download).

Compute settings are one context, read by every array computation (metrics, mapping, stats, extraction):

* ``backend`` — ``"numpy"`` or ``"torch"``;
* ``device`` — ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` (a non-CPU device implies the torch backend), or
  ``None`` (the default): metrics compute on the CPU and feature extraction uses a GPU when torch sees one;
* ``dtype`` — ``"float32"`` (default: twice the GEMM rate of float64 on CPU) or ``"float64"``;
* ``working_memory`` — MiB a blocked computation may use for one block (RDM rows, ridge target batches, ...).

Defaults come from ``BRAINALIGN_DEVICE`` / ``BRAINALIGN_DTYPE`` / ``BRAINALIGN_WORKING_MEMORY`` when set.
Torch inputs override the context's backend and device (:func:`compute_settings`), so a tensor on a GPU is
computed on that GPU.

>>> get_config()["dtype"]
'float32'
>>> with config_context(dtype="float64", working_memory=64):
...     get_config()["dtype"], get_config()["working_memory"]
('float64', 64)
>>> get_config()["dtype"]
'float32'
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple

from brainalign.core.errors import InvalidInputError

BackendName = Literal["numpy", "torch"]
BACKENDS = ("numpy", "torch")
DTYPES = ("float32", "float64")
_DEVICE_PATTERN = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")
_KEYS = ("backend", "device", "dtype", "working_memory")
_local = threading.local()


def cache_dir(*parts: str) -> Path:
    """The cache directory (created), or a subdirectory of it.

    >>> cache_dir("features").name
    'features'
    """
    root = Path(os.environ.get("BRAINALIGN_CACHE") or Path.home() / ".cache" / "brainalign").expanduser()
    path = root.joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidInputError(
            f"cannot create the cache directory {path} ({error.strerror}); set BRAINALIGN_CACHE to a writable folder"
        ) from error
    return path


def mirror_dirs() -> list[Path]:
    """Directories consulted, in order, before downloading a file (``BRAINALIGN_MIRROR``)."""
    raw = os.environ.get("BRAINALIGN_MIRROR", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def check_device(device: str | None) -> str | None:
    """``device`` if it names a device this machine has (or is ``None``); else an error saying what is valid.

    >>> check_device("cpu")
    'cpu'
    """
    if device is None:
        return None
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device):
        raise InvalidInputError(f"device {device!r} is not valid; use 'cpu', 'cuda', 'cuda:N' or 'mps'")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InvalidInputError(f"device {device!r} was requested but torch sees no CUDA GPU on this machine "
                                    f"(torch {torch.__version__}); use --device cpu")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise InvalidInputError(f"device {device!r} does not exist; this machine has "
                                    f"{count} CUDA device(s): cuda:0 .. cuda:{count - 1}")
    if device == "mps":
        import torch

        if not torch.backends.mps.is_available():
            raise InvalidInputError("device 'mps' was requested but torch sees no Apple GPU; use --device cpu")
    return device


def _defaults() -> dict[str, Any]:
    device = os.environ.get("BRAINALIGN_DEVICE") or None
    return {
        "backend": "numpy" if device in (None, "cpu") else "torch",
        "device": device,
        "dtype": os.environ.get("BRAINALIGN_DTYPE") or "float32",
        "working_memory": int(os.environ.get("BRAINALIGN_WORKING_MEMORY") or 1024),
    }


_global: dict[str, Any] = {}


def _validated(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(settings) - set(_KEYS))
    if unknown:
        raise InvalidInputError(f"unknown compute setting(s) {unknown}; valid: {', '.join(_KEYS)}")
    if "backend" in settings and settings["backend"] not in BACKENDS:
        raise InvalidInputError(f"backend {settings['backend']!r} is not supported; valid: {', '.join(BACKENDS)}")
    if "dtype" in settings and settings["dtype"] not in DTYPES:
        raise InvalidInputError(f"dtype {settings['dtype']!r} is not supported; valid: {', '.join(DTYPES)}")
    if "device" in settings:
        check_device(settings["device"])
        if settings["device"] not in (None, "cpu") and "backend" not in settings:
            settings = {**settings, "backend": "torch"}
    if "working_memory" in settings and not (isinstance(settings["working_memory"], int)
                                             and settings["working_memory"] > 0):
        raise InvalidInputError(f"working_memory must be a positive number of MiB; got {settings['working_memory']!r}")
    return settings


def _current() -> dict[str, Any]:
    if not hasattr(_local, "config"):
        if not _global:
            _global.update(_validated(_defaults()))
        _local.config = dict(_global)
    return _local.config


def get_config() -> dict[str, Any]:
    """A copy of the current compute settings (``backend``, ``device``, ``dtype``, ``working_memory``)."""
    return dict(_current())


def set_config(**settings: Any) -> None:
    """Change compute settings for the rest of this thread (validated; unknown keys are an error)."""
    _current().update(_validated(settings))


@contextlib.contextmanager
def config_context(**settings: Any) -> Iterator[dict[str, Any]]:
    """Compute settings inside a ``with`` block only; ``None`` values leave a setting as it is.

    >>> with config_context(backend="torch", device="cpu") as settings:
    ...     settings["backend"]
    'torch'
    """
    settings = {k: v for k, v in settings.items() if v is not None}
    old = get_config()
    set_config(**settings)
    try:
        yield get_config()
    finally:
        _current().clear()
        _current().update(old)


class ComputeSettings(NamedTuple):
    """What one computation runs with: resolved from the context and its inputs."""

    backend: BackendName
    device: str
    dtype: str
    working_memory: int


def compute_settings(*arrays: Any) -> ComputeSettings:
    """The context's settings, with backend and device taken from the first torch input when there is one.

    >>> import numpy as np
    >>> compute_settings(np.zeros(3)).backend
    'numpy'
    """
    config = get_config()
    for array in arrays:
        if type(array).__module__.startswith("torch"):
            config["backend"], config["device"] = "torch", str(array.device)
            break
    config["device"] = config["device"] or "cpu"
    return ComputeSettings(config["backend"], config["device"], config["dtype"], config["working_memory"])


def rows_per_block(bytes_per_row: int, n_rows: int, *, minimum: int = 1) -> int:
    """How many rows of ``bytes_per_row`` fit in the context's ``working_memory`` (at least ``minimum``).

    >>> with config_context(working_memory=1):
    ...     rows_per_block(8 * 1024, n_rows=1000)
    128
    """
    budget = get_config()["working_memory"] * 2**20
    return int(max(minimum, min(n_rows, budget // max(1, bytes_per_row))))


def default_device() -> str:
    """The device to run networks on: the context's, else ``cuda`` when torch sees a GPU, else ``cpu``."""
    device = get_config()["device"]
    if device is not None:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
