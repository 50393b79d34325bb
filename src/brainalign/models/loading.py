"""Turn anything scorable into a ready-to-run model: a catalog entry, a registered user model, a torch module, a
callable, or a spec string — ``path/to/file.py:factory``, ``model.onnx``, or a TorchScript archive ``model.pt``.

Modules, callables and files are registered as user models on the way (see
`brainalign.models.sources.user.register_user_model`), so the result always has a ``.card`` and works with the
`Extractor`, ``score`` and ``BrainModel`` like a catalog entry.

>>> model = load_model("efficientnet_lite0_random", device="cpu")
>>> model.weights_checksum, model.module.training, model.preprocessing.image_size
('random-seed0', False, 224)
>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.ReLU())
>>> load_model(net, identifier="tiny_conv", device="cpu").card.source, list_layers(net)
('user', ['0', '1'])
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from brainalign.core.config import check_device, default_device
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.storage import content_hash
from brainalign.models.card import ModelCard
from brainalign.models.catalog import get_card, has_model, list_models
from brainalign.models.sources.base import ImagePreprocessing, LoadedModel, SourceModel
from brainalign.models.sources.registry import MODEL_SOURCES
from brainalign.models.sources.user import (
    ONNX_SUFFIXES,
    TORCHSCRIPT_SUFFIXES,
    model_identity,
    register_user_model,
    registered_cards,
)

__all__ = ["ImagePreprocessing", "LoadedModel", "ModelSpec", "find_card", "list_layers", "load_model"]

ModelSpec = str | os.PathLike | ModelCard | LoadedModel | torch.nn.Module | Callable[..., Any]
_FACTORY_SPEC = re.compile(r"(?P<file>.+\.py):(?P<factory>[A-Za-z_]\w*)")


def find_card(identifier: str) -> ModelCard:
    """The card of a model registered at run time (``register_user_model``) or else of the catalog entry.

    >>> find_card("all_minilm_l6_v2").source
    'sentence-transformers'
    """
    user_cards = registered_cards()
    if identifier in user_cards:
        return user_cards[identifier]
    try:
        return get_card(identifier)
    except UnknownNameError:
        raise UnknownNameError("model", identifier, [*list_models(), *user_cards]) from None


def load_model(model: ModelSpec, device: str | None = None, seed: int = 0, *, identifier: str | None = None,
               **options: Any) -> LoadedModel:
    """A loaded model (in eval mode, on ``device``) with its ``card``, preprocessing and weights checksum.

    ``model`` is a catalog identifier, the identifier of a registered user model, a `ModelCard`, a `LoadedModel`
    (returned as is, moved to ``device`` when one is given), a ``torch.nn.Module``, a callable, or a spec string:
    ``path/to/file.py:factory`` (the file is run and ``factory()`` must return a module or a callable),
    ``model.onnx``, or a TorchScript archive (``.pt``, ``.pth``, ``.ts``). Modules, callables and files are
    registered as user models under ``identifier`` (default: the file stem, ``file:factory``, or the class / function
    name plus a short content hash); ``options`` go to ``register_user_model`` (``preprocessing``, ``layers``,
    ``weights``, ``modality``, ``version``, card fields). ``device`` defaults to the compute context's
    (`default_device`); catalog entries without trained weights are initialised with ``seed``.
    """
    if isinstance(model, LoadedModel):
        _no_options(model.identifier, identifier, options)
        return model if device is None else model.to(check_device(device))
    device = check_device(device) or default_device()
    if isinstance(model, (str, os.PathLike)):
        card = _spec_card(model, identifier, options)
    elif isinstance(model, ModelCard):
        _no_options(model.identifier, identifier, options)
        card = model
    elif callable(model):  # a torch module or any other callable
        name = identifier or f"{_object_name(model)}-{_short_identity(model, options.get('version'))}"
        card = register_user_model(name, model, **options)
    else:
        raise InvalidInputError(f"cannot load a model from a {type(model).__name__}; give a catalog identifier, a "
                                "torch.nn.Module, a callable, 'file.py:factory', an .onnx or a TorchScript file")
    return MODEL_SOURCES.get(card.source)(card, device=device, seed=seed)


def list_layers(model: ModelSpec, **options: Any) -> list[str]:
    """Names of every layer of ``model`` (anything `load_model` takes) that can be read, in definition order.

    >>> list_layers("efficientnet_lite0_random")[:3]
    ['conv_stem', 'bn1', 'bn1.drop']
    """
    if isinstance(model, torch.nn.Module) and not isinstance(model, torch.jit.ScriptModule) and not options:
        return [name for name, _ in model.named_modules() if name]
    loaded = load_model(model, device=None if isinstance(model, LoadedModel) else "cpu", **options)
    if isinstance(loaded, SourceModel):  # text, video, ONNX and user models name their own layers
        return loaded.layer_names()
    return [name for name, _ in loaded.module.named_modules() if name]


def _spec_card(spec: str | os.PathLike, identifier: str | None, options: dict[str, Any]) -> ModelCard:
    """The card of an identifier, or of the user model a spec string names (registered now)."""
    text = os.fspath(spec)
    if text in registered_cards() or has_model(text):
        _no_options(text, identifier, options)
        return find_card(text)
    match = _FACTORY_SPEC.fullmatch(text)
    if match:
        model = _from_factory(Path(match["file"]), match["factory"])
        name = f"{Path(match['file']).stem}:{match['factory']}"
        if isinstance(model, Mapping):  # the factory also gave registration options (layers, modality, ...)
            model = dict(model)
            options = {**model, **options}
            model = options.pop("model")
    elif Path(text).suffix in (*ONNX_SUFFIXES, *TORCHSCRIPT_SUFFIXES):
        model, name = text, Path(text).stem
    elif re.search(r"[/\\:]", text) or Path(text).exists():  # a path, not a misspelt identifier
        raise InvalidInputError(
            f"model spec {text!r} is not valid; give a catalog identifier, a registered user model, "
            f"'path/to/file.py:factory', an ONNX file ({', '.join(ONNX_SUFFIXES)}) or a TorchScript archive "
            f"({', '.join(TORCHSCRIPT_SUFFIXES)})"
        )
    else:
        raise UnknownNameError("model", text, [*list_models(), *registered_cards()])
    if identifier is None and name in list_models():
        name = f"user:{name}"  # a file named like a catalog entry must not shadow it
    return register_user_model(identifier or name, model, **options)


def _from_factory(path: Path, factory: str) -> Any:
    """Run the Python file ``path`` as a module and return what its ``factory()`` builds: a module, a callable, or a
    dict of `register_user_model` arguments with the model under ``"model"`` (e.g. its layers and modality)."""
    if not path.is_file():
        raise InvalidInputError(f"model file {path} does not exist")
    name = f"brainalign_user_models.{path.stem}_{content_hash(str(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # classes and dataclasses defined in the file look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    if not callable(getattr(module, factory, None)):
        found = [key for key, value in vars(module).items() if callable(value) and not key.startswith("_")]
        raise UnknownNameError(f"factory in {path}", factory, found)
    built = getattr(module, factory)()
    if isinstance(built, Mapping) and not callable(built.get("model")):
        raise InvalidInputError(f"{path}:{factory}() returned a dict whose 'model' entry is not a module or callable; "
                                f"keys: {sorted(built)} (the others are register_user_model options)")
    if not (callable(built) or isinstance(built, Mapping)):
        raise InvalidInputError(f"{path}:{factory}() returned a {type(built).__name__}; it must return a "
                                "torch.nn.Module, a callable, or a dict of register_user_model arguments with 'model'")
    return built


def _object_name(model: Any) -> str:
    if isinstance(model, torch.jit.ScriptModule):
        return str(getattr(model, "original_name", "ScriptModule"))
    if isinstance(model, torch.nn.Module):
        return type(model).__name__
    name = getattr(model, "__name__", None) or type(model).__name__
    return "lambda" if name == "<lambda>" else name


def _short_identity(model: Any, version: str | None) -> str:
    """Eight hex digits of the model's content identity (two different objects of one class get two names)."""
    return content_hash(model_identity(model, version), length=8)


def _no_options(name: str, identifier: str | None, options: dict[str, Any]) -> None:
    if identifier is not None or options:
        given = sorted([*options, *(["identifier"] if identifier is not None else [])])
        raise InvalidInputError(f"options {given} only apply to models registered on the way (modules, callables, "
                                f"files); {name!r} is already a model: register it again with them instead")
