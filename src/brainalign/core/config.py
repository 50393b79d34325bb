"""Where brainalign keeps things: cache and mirror directories, default device.

Environment variables: ``BRAINALIGN_CACHE`` (default ``~/.cache/brainalign``),
``BRAINALIGN_MIRROR`` (one or more directories separated by ``os.pathsep`` searched before any
download), ``BRAINALIGN_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``; default: cuda when available).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """The cache directory (created), or a subdirectory of it.

    >>> cache_dir("features").name
    'features'
    """
    root = Path(os.environ.get("BRAINALIGN_CACHE") or Path.home() / ".cache" / "brainalign").expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def mirror_dirs() -> list[Path]:
    """Directories consulted, in order, before downloading a file (``BRAINALIGN_MIRROR``)."""
    raw = os.environ.get("BRAINALIGN_MIRROR", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def default_device() -> str:
    """``BRAINALIGN_DEVICE`` if set, else ``cuda`` when torch sees a GPU, else ``cpu``."""
    if os.environ.get("BRAINALIGN_DEVICE"):
        return os.environ["BRAINALIGN_DEVICE"]
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - torch is a dependency
        return "cpu"
