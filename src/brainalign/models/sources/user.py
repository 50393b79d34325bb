"""Models registered at run time: any torch module (with a preprocessing), any callable returning arrays, a
TorchScript archive or an ONNX file — then used like catalog entries (``load_model``, `Extractor`) under their
identifier.

Registered models are identified by content (see ``identity``): a module by its state dict, structure and code, a
callable by its code and the values it captures. Changing a captured weight therefore changes the cache key, and
cached features of the old weights are never served for the new ones.

>>> import numpy as np
>>> from brainalign.data.stimuli import StimulusSet
>>> from brainalign.models.extractor import Extractor
>>> card = register_user_model("text_length", lambda texts: np.array([[len(t)] for t in texts]), modality="text")
>>> stimuli = StimulusSet("demo", ["a", "b"], texts=["hi", "hello"], modality="text")
>>> Extractor("text_length", cache=False, progress=False).extract(stimuli)["output"].values.tolist()
[[2.0], [5.0]]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brainalign.core.backend import to_numpy
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.registry import Registry
from brainalign.core.storage import content_hash
from brainalign.models.card import ModelCard
from brainalign.models.catalog import list_models
from brainalign.models.sources.base import ImagePreprocessing, SourceModel
from brainalign.models.sources.hooks import read_layers
from brainalign.models.sources.identity import callable_identity, module_identity
from brainalign.models.sources.onnx import graph_layers
from brainalign.models.sources.registry import MODEL_SOURCES
from brainalign.models.sources.weights import load_state_dict

SINGLE_OUTPUT = "output"  # the layer name of a callable (or TorchScript module) that returns one array
ONNX_SUFFIXES = (".onnx",)
TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".ts")


def model_identity(model: torch.nn.Module | Callable[..., Any], version: str | None = None) -> str:
    """The content identity of a user module (`module_identity`) or callable (`callable_identity`), with
    ``version`` when given.

    >>> model_identity(torch.nn.Linear(2, 1)) == model_identity(torch.nn.Linear(2, 1))  # other random weights
    False
    """
    if isinstance(model, torch.nn.Module):
        identity = module_identity(model)
        return identity if version is None else content_hash(identity, version, length=64)
    return callable_identity(model, version)


@dataclass(frozen=True)
class UserPreprocessing:
    """Turns one stimulus (a PIL image, a text, or a video path) into a model input with ``function`` (a callable
    or an `ImagePreprocessing`); ``None`` hands the raw stimuli to the model as a list. Tensors and arrays are
    stacked into a batch. ``version`` stands for what `callable_identity` cannot hash in ``function``."""

    function: Callable[[Any], Any] | None = None
    version: str | None = None

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
        return {"function": None if self.function is None else callable_identity(self.function, self.version)}


@dataclass
class UserModel(SourceModel):
    """A registered torch ``module`` (layers: its named submodules, read with hooks) or a ``function``
    (layers: the keys of the dict it returns, or ``output`` for a single array; a TorchScript module, which takes
    no hooks, is such a function run on ``device`` without gradients).

    ``weights_checksum`` is the content identity of the module or function as it is *now*, recomputed on every
    read, so a model changed in place (trained further, a captured array edited) never reuses cached features.
    """

    function: Callable[[Any], Any] | None = None
    version: str | None = None

    @property
    def weights_checksum(self) -> str:
        return model_identity(self.module if self.module is not None else self.function, self.version)

    @weights_checksum.setter
    def weights_checksum(self, value: str) -> None:
        """Ignored: the field exists for the `LoadedModel` interface; the identity is always computed."""

    def to(self, device: str) -> UserModel:
        """Move the module, or a TorchScript function, to ``device``."""
        if isinstance(self.function, torch.nn.Module):
            self.function.to(device)
        return super().to(device)

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
        if isinstance(self.function, torch.nn.Module):
            with torch.inference_mode():
                outputs = self.function(inputs.to(self.device) if isinstance(inputs, torch.Tensor) else inputs)
        else:
            outputs = self.function(inputs)
        if not isinstance(outputs, Mapping):
            outputs = {SINGLE_OUTPUT: outputs}
        missing = [layer for layer in layers if layer not in outputs]
        if missing:
            raise InvalidInputError(f"user model {self.identifier!r} returned layers {sorted(outputs)}; "
                                    f"missing requested layers {missing}")
        features = {layer: np.asarray(to_numpy(outputs[layer]), dtype=np.float32).reshape(n, -1) for layer in layers}
        return features


@dataclass(frozen=True, eq=False)
class UserEntry:
    """A registered user model: its card, the module or callable (None for an ONNX file), its preprocessing and
    the ``version`` that stands for what content hashing cannot see."""

    card: ModelCard
    model: Any
    preprocessing: UserPreprocessing
    version: str | None = None


USER_MODELS: Registry[UserEntry] = Registry("user model")


def register_user_model(
    identifier: str,
    model: torch.nn.Module | Callable[[Any], Any] | str | os.PathLike,
    *,
    preprocessing: ImagePreprocessing | Callable[[Any], Any] | None = None,
    layers: Sequence[str] | None = None,
    weights: str | os.PathLike | None = None,
    modality: str = "image",
    version: str | None = None,
    **card_fields: Any,
) -> ModelCard:
    """Register ``model`` under ``identifier`` (re-registering replaces it) and return its card.

    ``model``: a ``torch.nn.Module`` (layers: its named submodules; ``preprocessing`` turns one stimulus into a
    tensor, default for images `ImagePreprocessing(224, 256)`; ``weights``: a state-dict file or a directory
    holding one, loaded now), a callable taking the batch (a list of stimuli, or the stacked ``preprocessing``
    outputs) and returning one array or ``{layer: array}`` (then name the ``layers``), the path of a TorchScript
    archive (``.pt``, ``.pth``, ``.ts``; one layer, ``output``) or of an ``.onnx`` file (image input;
    ``preprocessing`` an `ImagePreprocessing`). ``layers`` are the default layers; ``version`` is required when a
    callable captures values without a content hash (see `callable_identity`); ``card_fields`` override taxonomy
    fields of the card (``family``, ``task``, ``training_data``, ...).

    >>> card = register_user_model("doubled", lambda images: np.zeros((len(images), 2)), version="1")
    >>> card.source, card.default_layers
    ('user', ['output'])
    """
    if identifier in list_models():
        raise InvalidInputError(f"user model {identifier!r} would shadow the catalog entry of the same name")
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if path.suffix in ONNX_SUFFIXES:
            card = _onnx_card(identifier, path, preprocessing, layers, card_fields)
            USER_MODELS.register(identifier, UserEntry(card, None, UserPreprocessing(preprocessing)), replace=True)
            return card
        model = _load_torchscript(path, identifier)
        card_fields = {"weights_file": str(path), **card_fields}
    is_module = isinstance(model, torch.nn.Module)
    hookable = is_module and not isinstance(model, torch.jit.ScriptModule)  # TorchScript modules take no hooks
    if not is_module and not callable(model):
        raise InvalidInputError(f"user model {identifier!r}: expected a torch.nn.Module, a callable, or the path of "
                                f"a TorchScript or .onnx file; got {type(model).__name__}")
    if is_module and preprocessing is None:
        if modality != "image":
            raise InvalidInputError(f"user model {identifier!r}: a torch module taking {modality} stimuli needs a "
                                    "preprocessing that turns one stimulus into a tensor")
        preprocessing = ImagePreprocessing(224, 256)
    if weights is not None:
        if not is_module:
            raise InvalidInputError(f"user model {identifier!r}: weights can only be loaded into a torch module")
        model.load_state_dict(load_state_dict(weights))
    prepare = UserPreprocessing(preprocessing, version)
    try:  # fail now, not at extraction, when a callable cannot be identified by content
        prepare.as_dict()
        if not is_module:
            model_identity(model, version)
    except InvalidInputError as error:
        raise InvalidInputError(f"user model {identifier!r}: {error}") from None
    if hookable:
        valid = [name for name, _ in model.named_modules() if name]
        default = [name for name, _ in model.named_children()]
    else:
        valid = default = [SINGLE_OUTPUT]
    layers = list(layers) if layers is not None else default
    for layer in layers if hookable else []:
        if layer not in valid:
            raise UnknownNameError("layer", layer, valid)
    card = ModelCard(**{
        "identifier": identifier, "source": "user", "architecture": _architecture(model),
        "family": "CNN", "task": "unspecified", "training_data": "unspecified", "training_method": "supervised",
        "modality": modality, "parameters": sum(p.numel() for p in model.parameters()) if is_module else 0,
        "default_layers": layers, "weights": "local", "weights_file": None if weights is None else str(weights),
        "notes": "registered at run time", **_image_fields(preprocessing), **card_fields,
    })
    USER_MODELS.register(identifier, UserEntry(card, model, prepare, version), replace=True)
    return card


def registered_cards() -> dict[str, ModelCard]:
    """The cards of every model registered in this process."""
    return {identifier: entry.card for identifier, entry in USER_MODELS.items()}


@MODEL_SOURCES.register("user")
def load_user_model(card: ModelCard, device: str = "cpu", seed: int = 0) -> UserModel:
    """The registered module (in eval mode, on ``device``) or callable behind ``card``, identified by its content
    as it is now (``seed`` is not used: the model comes as registered)."""
    entry = USER_MODELS.get(card.identifier)
    model = entry.model
    if isinstance(model, torch.nn.Module):
        model = model.eval().to(device)
    hookable = isinstance(model, torch.nn.Module) and not isinstance(model, torch.jit.ScriptModule)
    return UserModel(card, model if hookable else None, entry.preprocessing, weights_checksum="", device=device,
                     function=None if hookable else model, version=entry.version)


def _architecture(model: Any) -> str:
    if isinstance(model, torch.jit.ScriptModule):
        return str(getattr(model, "original_name", "ScriptModule"))
    if isinstance(model, torch.nn.Module):
        return type(model).__name__
    return getattr(model, "__qualname__", type(model).__name__)


def _load_torchscript(path: Path, identifier: str) -> torch.jit.ScriptModule:
    """The TorchScript archive at ``path`` (loaded on the CPU)."""
    if path.suffix not in TORCHSCRIPT_SUFFIXES:
        raise InvalidInputError(f"user model {identifier!r}: {path} is neither an ONNX file "
                                f"({', '.join(ONNX_SUFFIXES)}) "
                                f"nor a TorchScript archive ({', '.join(TORCHSCRIPT_SUFFIXES)})")
    if not path.is_file():
        raise InvalidInputError(f"user model {identifier!r}: TorchScript file {path} does not exist")
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as error:
        raise InvalidInputError(
            f"user model {identifier!r}: {path} is not a TorchScript archive (written by torch.jit.save); for a "
            f"state dict, register the module itself with weights={str(path)!r}"
        ) from error


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
