"""Weights on this machine: state-dict files or model directories, loaded and identified by checksum.

>>> import tempfile, pathlib, torch
>>> path = pathlib.Path(tempfile.mkdtemp()) / "net.pt"
>>> torch.save(torch.nn.Linear(2, 1).state_dict(), path)
>>> sorted(load_state_dict(path)), path_checksum(path) == path_checksum(path)
(['bias', 'weight'], True)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import content_hash
from brainalign.models.loading import _cached_sha256

STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")


def path_checksum(path: str | os.PathLike) -> str:
    """sha256 of a file, or a hash of the sha256 of every file in a directory (names included)."""
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"weights path {path} does not exist")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digests = [(str(p.relative_to(path)) if p != path else p.name,
                _cached_sha256(str(p), p.stat().st_size, p.stat().st_mtime_ns)) for p in files]
    return digests[0][1] if path.is_file() else content_hash(digests)


def module_checksum(module: torch.nn.Module) -> str:
    """sha256 of a module's parameters and buffers (names, shapes and values)."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The state dict in a file (torch pickle, tensors only, or safetensors), or in the one weights file of a
    directory; a checkpoint ``{"state_dict": ...}`` is unwrapped."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in STATE_DICT_SUFFIXES)
        if len(files) != 1:
            raise InvalidInputError(
                f"weights directory {path} must hold exactly one state-dict file ({', '.join(STATE_DICT_SUFFIXES)}); "
                f"found {[p.name for p in files]}"
            )
        path = files[0]
    if not path.is_file():
        raise InvalidInputError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state) if isinstance(state, dict) else state
