"""`SourceModel`: a loaded model that computes its own features batch by batch.

It is the one hook point through which the `Extractor` runs models that are not torchvision / timm image
networks read by its own forward hooks: text (transformers, sentence-transformers), video (clip networks and
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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainalign.models.loading import LoadedModel


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
