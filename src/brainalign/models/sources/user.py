"""Models registered at run time: any torch module (with a preprocessing), any callable returning arrays, or an
ONNX file — then used like catalog entries (``load_model``, `Extractor`) under their identifier.

>>> import numpy as np
>>> from brainalign.data.stimuli import StimulusSet
>>> from brainalign.models.extractor import Extractor
>>> card = register_user_model("text_length", lambda texts: np.array([[len(t)] for t in texts]), modality="text")
>>> stimuli = StimulusSet("demo", ["a", "b"], texts=["hi", "hello"], modality="text")
>>> Extractor("text_length", cache=False, progress=False).extract(stimuli)["output"].values.tolist()
[[2.0], [5.0]]
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brainalign.core.backend import to_numpy
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.storage import content_hash
from brainalign.models.card import ModelCard
from brainalign.models.catalog import list_models
from brainalign.models.loading import ImagePreprocessing
from brainalign.models.sources.base import SourceModel
from brainalign.models.sources.hooks import read_layers
from brainalign.models.sources.weights import load_state_dict, module_checksum

SINGLE_OUTPUT = "output"  # the layer name of a callable that returns one array
_REGISTRY: dict[str, tuple[ModelCard, Any, "UserPreprocessing"]] = {}


def callable_identity(function: Callable) -> str:
    """Module, qualified name and a hash of the source code of ``function`` (what identifies its outputs in caches).

    >>> callable_identity(callable_identity).startswith("brainalign.models.sources.user.callable_identity:")
    True
    """
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        source = repr(function)
    name = getattr(function, "__qualname__", type(function).__qualname__)
    return f"{getattr(function, '__module__', '')}.{name}:{content_hash(source)}"


@dataclass(frozen=True)
class UserPreprocessing:
    """Turns one stimulus (a PIL image, a text, or a video path) into a model input with ``function`` (a callable
    or an `ImagePreprocessing`); ``None`` hands the raw stimuli to the model as a list. Tensors and arrays are stacked into a batch."""

    function: Callable[[Any], Any] | None = None

    def batch(self, stimuli: Any, indices: Sequence[int]) -> Any:
        """The model input for the stimuli at ``indices``."""
        raw = [_stimulus(stimuli, i) for i in indices]
        if self.function is None:
            return raw
        step = self.function.transform if isinstance(self.function, ImagePreprocessing) else self.function
        items = [step(item) for item in raw]
        if all(isinstance(item, torch.Tensor) for item in items):
            return torch.stack(items)
        if all(isinstance(item, np.ndarray) for item in items):
            return np.stack(items)
        return items

    def as_dict(self) -> dict[str, Any]:
        """Every parameter that changes the inputs (part of the feature cache key)."""
        if hasattr(self.function, "as_dict"):  # e.g. an ImagePreprocessing
            return self.function.as_dict()
        return {"function": None if self.function is None else callable_identity(self.function)}


@dataclass
class UserModel(SourceModel):
    """A registered torch ``module`` (layers: its named submodules, read with hooks) or a ``function``
    (layers: the keys of the dict it returns, or ``output`` for a single array)."""

    function: Callable[[Any], Any] | None = None

    def layer_names(self) -> list[str]:
        if self.module is not None:
            return [name for name, _ in self.module.named_modules() if name]
        return list(self.card.default_layers)

    def batch_features(self, stimuli: Any, indices: Sequence[int], layers: Sequence[str]) -> dict[str, np.ndarray]:
        inputs = self.preprocessing.batch(stimuli, indices)
        n = len(indices)
        if self.module is not None:
            inputs = inputs.to(self.device) if isinstance(inputs, torch.Tensor) else inputs
            features, _ = read_layers(self.module, lambda: self.module(inputs), layers)
            return features
        outputs = self.function(inputs)
        if not isinstance(outputs, Mapping):
            outputs = {SINGLE_OUTPUT: outputs}
        missing = [layer for layer in layers if layer not in outputs]
        if missing:
            raise InvalidInputError(f"user model {self.identifier!r} returned layers {sorted(outputs)}; "
                                    f"missing requested layers {missing}")
        features = {layer: np.asarray(to_numpy(outputs[layer]), dtype=np.float32).reshape(n, -1) for layer in layers}
        return features


def register_user_model(
    identifier: str,
    model: torch.nn.Module | Callable[[Any], Any] | str | os.PathLike,
    *,
    preprocessing: ImagePreprocessing | Callable[[Any], Any] | None = None,
    layers: Sequence[str] | None = None,
    weights: str | os.PathLike | None = None,
    modality: str = "image",
    **card_fields: Any,
) -> ModelCard:
    """Register ``model`` under ``identifier`` (re-registering replaces it) and return its card.

    ``model``: a ``torch.nn.Module`` (layers: its named submodules; ``preprocessing`` turns one stimulus into a
    tensor, default for images `ImagePreprocessing(224, 256)`; ``weights``: a state-dict file or a directory
    holding one, loaded now), a callable taking the batch (a list of stimuli, or the stacked ``preprocessing``
    outputs) and returning one array or ``{layer: array}`` (then name the ``layers``), or the path of an
    ``.onnx`` file (image input; ``preprocessing`` an `ImagePreprocessing`). ``layers`` are the default layers;
    ``card_fields`` override taxonomy fields of the card (``family``, ``task``, ``training_data``, ...).
    """
    if identifier in list_models():
        raise InvalidInputError(f"user model {identifier!r} would shadow the catalog entry of the same name")
    if isinstance(model, (str, os.PathLike)):
        card = _onnx_card(identifier, Path(model), preprocessing, layers, card_fields)
        _REGISTRY[identifier] = (card, None, UserPreprocessing(preprocessing))
        return card
    is_module = isinstance(model, torch.nn.Module)
    if not is_module and not callable(model):
        raise InvalidInputError(f"user model {identifier!r}: expected a torch.nn.Module, a callable or an .onnx path; "
                                f"got {type(model).__name__}")
    if is_module and preprocessing is None:
        if modality != "image":
            raise InvalidInputError(f"user model {identifier!r}: a torch module taking {modality} stimuli needs a "
                                    "preprocessing that turns one stimulus into a tensor")
        preprocessing = ImagePreprocessing(224, 256)
    if weights is not None:
        if not is_module:
            raise InvalidInputError(f"user model {identifier!r}: weights can only be loaded into a torch module")
        model.load_state_dict(load_state_dict(weights))
    if is_module:
        valid = [name for name, _ in model.named_modules() if name]
        default = [name for name, _ in model.named_children()]
    else:
        valid = default = [SINGLE_OUTPUT]
    layers = list(layers) if layers is not None else default
    for layer in layers if is_module or layers == [SINGLE_OUTPUT] else []:
        if layer not in valid:
            raise UnknownNameError("layer", layer, valid)
    image_fields = _image_fields(preprocessing)
    card = ModelCard(**{
        "identifier": identifier, "source": "user",
        "architecture": type(model).__name__ if is_module else getattr(model, "__qualname__", type(model).__name__),
        "family": "CNN", "task": "unspecified", "training_data": "unspecified", "training_method": "supervised",
        "modality": modality, "parameters": sum(p.numel() for p in model.parameters()) if is_module else 0,
        "default_layers": layers, "weights": "local", "weights_file": None if weights is None else str(weights),
        "notes": "registered at run time", **image_fields, **card_fields,
    })
    _REGISTRY[identifier] = (card, model, UserPreprocessing(preprocessing))
    return card


def registered_cards() -> dict[str, ModelCard]:
    """The cards of every model registered in this process."""
    return {identifier: card for identifier, (card, _, _) in _REGISTRY.items()}


def load_user_model(card: ModelCard, device: str = "cpu") -> UserModel:
    """The registered module (in eval mode, on ``device``) or callable behind ``card``."""
    if card.identifier not in _REGISTRY:
        raise UnknownNameError("user model", card.identifier, _REGISTRY)
    _, model, preprocessing = _REGISTRY[card.identifier]
    if isinstance(model, torch.nn.Module):
        module = model.eval().to(device)
        return UserModel(card, module, preprocessing, module_checksum(module), device)
    return UserModel(card, None, preprocessing, callable_identity(model), device, function=model)


def _stimulus(stimuli: Any, i: int) -> Any:
    """The ``i``-th stimulus as its model sees it raw: a PIL image, a text, or a video path."""
    if stimuli.modality == "image":
        return stimuli.load_image(i)
    if stimuli.modality == "text":
        return stimuli.texts[i]
    return stimuli.paths[i]


def _image_fields(preprocessing: Any) -> dict[str, Any]:
    """Card fields describing an `ImagePreprocessing` (else an input size of 0: unknown)."""
    if not isinstance(preprocessing, ImagePreprocessing):
        return {"input_size": 0}
    return {"input_size": preprocessing.image_size, "resize_size": preprocessing.resize_size,
            "mean": preprocessing.mean, "std": preprocessing.std, "interpolation": preprocessing.interpolation}


def _onnx_card(identifier: str, path: Path, preprocessing: Any, layers: Sequence[str] | None,
               card_fields: dict[str, Any]) -> ModelCard:
    """The card of an ONNX file registered as a user model (default layer: the graph's last node output)."""
    import onnx

    from brainalign.models.sources.onnx import graph_layers

    if not path.is_file():
        raise InvalidInputError(f"user model {identifier!r}: ONNX file {path} does not exist")
    graph = onnx.load(path)
    valid = graph_layers(graph)
    for layer in layers or []:
        if layer not in valid:
            raise UnknownNameError("layer", layer, valid)
    parameters = int(sum(np.prod(tensor.dims) for tensor in graph.graph.initializer))
    return ModelCard(**{
        "identifier": identifier, "source": "onnx", "architecture": graph.graph.name or path.stem, "family": "CNN",
        "task": "unspecified", "training_data": "unspecified", "training_method": "supervised", "modality": "image",
        "parameters": parameters, "default_layers": list(layers or valid[-1:]), "weights": "local",
        "weights_file": str(path), "notes": "ONNX file registered at run time",
        **_image_fields(preprocessing or ImagePreprocessing(224, 256)), **card_fields,
    })
