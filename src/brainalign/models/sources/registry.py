"""The model-source registry: ``card.source`` → ``load(card, device, seed) -> LoadedModel``.

Built-in sources (torchvision, timm, transformers, sentence-transformers, onnx, user) register themselves when
their module is imported, on the first lookup; other packages add sources through the ``brainalign.model_sources``
entry-point group (a card naming such a source is valid once the package is installed).

>>> MODEL_SOURCES.names()
['audio', 'clip', 'cornet', 'onnx', 'sentence-transformers', 'timm', 'torchvision', 'transformers', 'user']
>>> MODEL_SOURCES.get("tensorflow")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
brainalign.core.errors.UnknownNameError: unknown model source 'tensorflow'; valid: ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brainalign.core.registry import Registry

MODEL_SOURCES: Registry[Callable[..., Any]] = Registry(
    "model source", "brainalign.model_sources",
    builtin_modules=("brainalign.models.sources.vision", "brainalign.models.sources.text",
                     "brainalign.models.sources.onnx", "brainalign.models.sources.user",
                     "brainalign.models.sources.cornet", "brainalign.models.sources.audio",
                     "brainalign.models.sources.clip"),
)
