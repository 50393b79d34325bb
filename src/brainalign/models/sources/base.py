"""What every model source returns: a `LoadedModel` (a module in eval mode, its `ImagePreprocessing`, a checksum
identifying its weights), or a `SourceModel` that computes its own features batch by batch.

A `SourceModel` is the one hook point through which the `Extractor` runs models that are not torchvision / timm
image networks read by its own forward hooks: text (transformers, sentence-transformers), video (clip networks and
frame-wise image networks), ONNX graphs and user modules or callables. A source implements two methods,
``layer_names`` and ``batch_features``; batching, caching and progress stay in the `Extractor`.

>>> import numpy as np
>>> from brainalign.models.card import ModelCard
>>> class Ones(SourceModel):
...     def layer_names(self): return ["out"]
...     def batch_features(self, stimuli, indices, layers): return {"out": np.ones((len(indices), 2), "float32")}
>>> card = ModelCard(identifier="ones", source="user", architecture="ones", family="MLP", task="demo",
...                  training_data="none", training_method="supervised", modality="text", parameters=0,
...                  default_layers=["out"], input_size=0, weights="local")
>>> Ones(card, None, None, "constant").batch_features(None, range(3), ["out"])["out"].shape
(3, 2)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from brainalign.models.card import IMAGENET_MEAN, IMAGENET_STD, ModelCard
from brainalign.models.compat import import_torchvision


@dataclass(frozen=True)
class ImagePreprocessing:
    """Resize the short side to ``resize_size``, centre-crop ``image_size``, scale to [0, 1], normalise.

    >>> prep = ImagePreprocessing(image_size=8, resize_size=10)
    >>> prep.transform(Image.new("RGB", (20, 12))).shape
    torch.Size([3, 8, 8])
    """

    image_size: int
    resize_size: int
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    interpolation: str = "bilinear"

    @classmethod
    def from_card(cls, card: ModelCard) -> ImagePreprocessing:
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
    module: torch.nn.Module | None
    preprocessing: Any
    weights_checksum: str
    device: str = "cpu"

    @property
    def identifier(self) -> str:
        return self.card.identifier

    @property
    def accepted_modalities(self) -> tuple[str, ...]:
        """The stimulus modalities the model reads: its card's (a two-tower model reads more than one)."""
        return (self.card.modality,)

    def to(self, device: str) -> LoadedModel:
        """Move the module (when there is one) to ``device``, in place; returns the model."""
        if device != self.device:
            if self.module is not None:
                self.module.to(device)
            self.device = device
        return self


@dataclass
class SourceModel(LoadedModel):
    """A `LoadedModel` whose features come from ``batch_features`` instead of the `Extractor`'s image hooks.

    ``preprocessing`` is any object with ``as_dict()`` (every parameter that changes the features; part of the
    feature cache key); ``module`` is the torch module when there is one, else None.
    """

    def layer_names(self) -> list[str]:
        """Every layer ``batch_features`` can read, in order."""
        raise NotImplementedError

    def batch_features(self, stimuli: Any, indices: Sequence[int], layers: Sequence[str]) -> dict[str, np.ndarray]:
        """(len(indices), unit) float32 features of each of ``layers`` for the stimuli at ``indices``."""
        raise NotImplementedError
