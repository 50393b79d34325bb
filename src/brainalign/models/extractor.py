"""`Extractor`: run a model over a `StimulusSet` and return `Features` per layer — batched, cached, with progress.

Layer outputs are read with forward hooks on named modules. Once every requested layer has
produced its output the rest of the forward pass is skipped, so early layers of deep networks
cost only the layers before them.

>>> import tempfile, pathlib
>>> from PIL import Image
>>> from brainalign.data.stimuli import StimulusSet
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("a.png", "b.png"):
...     Image.new("RGB", (32, 32), "red").save(folder / name)
>>> extractor = Extractor("efficientnet_lite0_random", layers=["blocks.1"], device="cpu", progress=False)
>>> features = extractor.extract(StimulusSet.from_folder(folder, identifier="demo"))
>>> features["blocks.1"].dims, features["blocks.1"].shape
(('stimulus', 'unit'), (2, 75264))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from brainalign.core.config import default_device
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import make_features
from brainalign.models.feature_cache import FeatureCache, feature_key
from brainalign.models.loading import LoadedModel, load_model


def list_layers(model: LoadedModel | torch.nn.Module | str) -> list[str]:
    """Names of every submodule that can be read as a layer, in definition order.

    >>> list_layers("efficientnet_lite0_random")[:3]
    ['conv_stem', 'bn1', 'bn1.drop']
    """
    if isinstance(model, str):
        model = load_model(model)
    module = model.module if isinstance(model, LoadedModel) else model
    return [name for name, _ in module.named_modules() if name]


class Extractor:
    """Features of ``layers`` (default: the card's ``default_layers``) of a model, ``batch_size`` images at a time.

    ``model`` is a catalog identifier (loaded on ``device``, default `default_device()`) or a `LoadedModel`
    (moved to ``device`` when one is given). ``cache``: True for the default `FeatureCache`, a `FeatureCache`
    for another directory, False to always compute.
    """

    def __init__(
        self,
        model: LoadedModel | str,
        layers: Sequence[str] | None = None,
        batch_size: int = 32,
        device: str | None = None,
        cache: bool | FeatureCache = True,
        progress: bool = True,
    ):
        if isinstance(model, str):
            model = load_model(model, device=device or default_device())
        elif device is not None and device != model.device:
            model.module.to(device)
            model.device = device
        self.model = model
        self.layers = list(layers) if layers is not None else list(model.card.default_layers)
        valid = list_layers(model)
        for layer in self.layers:
            if layer not in valid:
                raise UnknownNameError("layer", layer, valid)
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be >= 1; got {batch_size}")
        self.batch_size = batch_size
        self.cache = cache if isinstance(cache, FeatureCache) else FeatureCache() if cache else None
        self.progress = progress
        self._hook_calls: dict[tuple[str, ...], int] = {}  # hook calls of one full forward, per layer set

    def extract(self, stimuli: Any) -> dict[str, xr.DataArray]:
        """`Features` (stimulus × unit, float32) per layer for every stimulus of ``stimuli``, in stimulus order."""
        if getattr(stimuli, "modality", "image") != "image":
            raise InvalidInputError(
                f"stimulus set {stimuli.identifier!r} holds {stimuli.modality} stimuli; "
                f"model {self.model.identifier!r} takes images"
            )
        keys = {layer: feature_key(self.model, layer, stimuli) for layer in self.layers} if self.cache else {}
        values = {layer: self.cache.load(keys[layer]) for layer in self.layers} if self.cache else {}
        missing = [layer for layer in self.layers if values.get(layer) is None]
        if missing:
            computed = self._run(stimuli, missing)
            values.update(computed)
            if self.cache:
                for layer, array in computed.items():
                    self.cache.save(keys[layer], array, stimuli.stimulus_ids, model=self.model.identifier, layer=layer)
        return {
            layer: make_features(values[layer], stimuli.stimulus_ids, layer=layer, model=self.model.identifier)
            for layer in self.layers
        }

    def extract_batch(self, images: torch.Tensor, layers: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Flattened float32 outputs of ``layers`` (default: the extractor's) for a preprocessed (n, 3, H, W) batch."""
        outputs: dict[str, np.ndarray] = {}
        self._forward(images, tuple(layers or self.layers), outputs.__setitem__)
        return outputs

    def _forward(self, images: torch.Tensor, layers: tuple[str, ...], store: Callable[[str, np.ndarray], None]) -> None:
        """One forward pass; each hooked layer's flattened output goes to ``store(layer, values)`` at once, so the
        activation tensor is freed as in a bare forward pass. A module called twice stores its last output."""
        n, fired, calls = images.shape[0], set(), 0
        stop_after = self._hook_calls.get(layers)

        def hook(name: str):
            def record(_module, _inputs, output):
                nonlocal calls
                store(name, _main_tensor(output, name).detach().reshape(n, -1).to("cpu", torch.float32).numpy())
                fired.add(name)
                calls += 1
                if calls == stop_after:
                    raise _StopForward

            return record

        module = self.model.module
        handles = [module.get_submodule(name).register_forward_hook(hook(name)) for name in layers]
        try:
            with torch.inference_mode():
                module(images.to(self.model.device))
        except _StopForward:
            pass
        finally:
            for handle in handles:
                handle.remove()
        silent = [name for name in layers if name not in fired]
        if silent:
            raise InvalidInputError(
                f"layers {silent} of model {self.model.identifier!r} produced no output: "
                "their modules are not called in the forward pass"
            )
        self._hook_calls.setdefault(layers, calls)

    def _run(self, stimuli: Any, layers: list[str]) -> dict[str, np.ndarray]:
        """Forward every batch once, writing each layer straight into one preallocated (stimulus, unit) array."""
        n = len(stimuli)
        arrays: dict[str, np.ndarray] = {}
        transform = self.model.preprocessing.transform
        for start in tqdm(range(0, n, self.batch_size), desc=f"{self.model.identifier} features", unit="batch",
                          disable=not self.progress):
            stop = min(start + self.batch_size, n)

            def store(layer: str, values: np.ndarray) -> None:
                if layer not in arrays:
                    arrays[layer] = np.empty((n, values.shape[1]), dtype=np.float32)
                arrays[layer][start:stop] = values

            images = torch.stack([transform(stimuli.load_image(i)) for i in range(start, stop)])
            self._forward(images, tuple(layers), store)
        return arrays


class _StopForward(BaseException):
    """Raised by the last hook of a forward pass to skip the layers nobody asked for (BaseException: not swallowed
    by models that catch Exception)."""


def _main_tensor(output: Any, layer: str) -> torch.Tensor:
    """The tensor a layer's output stands for: itself, the first tensor of a tuple, or ``last_hidden_state``."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping):
        if "last_hidden_state" in output:
            return output["last_hidden_state"]
        output = list(output.values())
    elif hasattr(output, "last_hidden_state"):
        return output.last_hidden_state
    if isinstance(output, (tuple, list)):
        for item in output:
            if isinstance(item, torch.Tensor):
                return item
    raise InvalidInputError(f"layer {layer!r} returned {type(output).__name__}, which holds no tensor to read")
