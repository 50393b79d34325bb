"""`Extractor`: run a model over a `StimulusSet` and return `Features` per layer — batched, streamed to a chunked
on-disk cache (resumable), optionally reduced on the fly, with progress.

Images of the next batches can be decoded and preprocessed in worker threads while the model runs the current
batch (``workers``), so file decoding costs no forward-pass time; batches still come out in order and the
numbers are the same as without workers. By default workers are used only when the model runs on a GPU: on a
CPU the forward pass already uses every core, and decoding threads slow it down (`benchmarks/bench_extraction.py`,
efficientnet_lite0 on 640 Cowley images, 2 idle cores: 0.999 of a bare forward loop without workers, 0.91 with
2). ``precision`` runs the forward pass under autocast (``bfloat16`` or ``float16``): faster on GPUs, slightly
different numbers (part of the cache key).

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

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import make_features
from brainalign.core.storage import content_hash
from brainalign.models.feature_cache import FeatureCache, feature_key
from brainalign.models.feature_store import FeatureStore
from brainalign.models.loading import ModelSpec, list_layers, load_model
from brainalign.models.projection import Projection, ReducerFit, load_fitted, project, save_fitted
from brainalign.models.sources.base import SourceModel
from brainalign.models.sources.hooks import main_tensor

PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
GPU_WORKERS = min(4, os.cpu_count() or 1)  # decoding threads beside a forward pass that runs on a GPU


class Extractor:
    """Features of ``layers`` (default: the card's ``default_layers``) of a model, ``batch_size`` images at a time.

    ``model`` is anything `load_model` takes — a catalog identifier, a torch module, a callable, a spec string —
    loaded on ``device`` (default: the compute context's, `default_device()`), or a `LoadedModel` (moved to
    ``device`` when one is given); an invalid ``device`` (``"foo"``, ``"cuda"`` without CUDA) is an error.
    ``cache``: True for the default `FeatureCache`, a `FeatureCache` for another directory, False to always
    compute in memory. With a cache, every batch is written straight
    into a chunked on-disk `FeatureStore` per layer, so memory holds one batch, not all stimuli, and a killed
    run resumes at the first unwritten batch. ``projection`` reduces each layer's batch on the fly (see
    `Projection`); its identity is part of the cache key. ``workers`` threads decode and preprocess the next
    images during the forward pass (0: all in the calling thread; None: ``GPU_WORKERS`` on a GPU, 0 on the CPU).
    ``precision`` (``float32``, ``bfloat16``, ``float16``) is the autocast type of the forward pass; features are
    always stored as float32.
    """

    def __init__(
        self,
        model: ModelSpec,
        layers: Sequence[str] | None = None,
        batch_size: int = 32,
        device: str | None = None,
        cache: bool | FeatureCache = True,
        progress: bool = True,
        projection: Projection | None = None,
        workers: int | None = None,
        precision: str = "float32",
    ):
        self.model = load_model(model, device=device)
        self.layers = list(layers) if layers is not None else list(self.model.card.default_layers)
        valid = list_layers(self.model)
        for layer in self.layers:
            if layer not in valid:
                raise UnknownNameError("layer", layer, valid)
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be >= 1; got {batch_size}")
        self.batch_size = batch_size
        if workers is None:
            workers = 0 if str(self.model.device).startswith("cpu") else GPU_WORKERS
        if workers < 0:
            raise InvalidInputError(f"workers must be >= 0; got {workers}")
        if precision not in PRECISIONS:
            raise InvalidInputError(f"precision {precision!r} is not valid; valid: {', '.join(PRECISIONS)}")
        self.workers = workers
        self.precision = precision
        self.cache = cache if isinstance(cache, FeatureCache) else FeatureCache() if cache else None
        self.progress = progress
        self.projection = projection
        self._hook_calls: dict[tuple[str, ...], int] = {}  # hook calls of one full forward, per layer set

    def extract(self, stimuli: Any) -> dict[str, xr.DataArray]:
        """`Features` (stimulus × unit, float32) per layer for every stimulus of ``stimuli``, in stimulus order,
        in memory (for layers too large for memory use :meth:`extract_stores`)."""
        if self.cache is None:
            self._check_modality(stimuli)
            sinks = {layer: _ArraySink(len(stimuli)) for layer in self.layers}
            self._run(stimuli, sinks, self._fitted_reducers())
            return {layer: make_features(sinks[layer].values, stimuli.stimulus_ids, layer=layer,
                                         model=self.model.identifier) for layer in self.layers}
        features = {}
        for layer, store in self.extract_stores(stimuli).items():
            with store:
                features[layer] = store.to_features()
        return features

    def extract_stores(self, stimuli: Any) -> dict[str, FeatureStore]:
        """An on-disk `FeatureStore` per layer (read lazily), computing only the layers and rows not yet cached."""
        self._check_modality(stimuli)
        if self.cache is None:
            raise InvalidInputError("extract_stores writes into the feature cache; create the Extractor with "
                                    "cache=True or cache=FeatureCache(directory)")
        reducers = self._fitted_reducers()
        fingerprint = stimuli.fingerprint()
        keys = {layer: feature_key(self.model, layer, stimuli, self._projection_identity(layer), fingerprint)
                for layer in self.layers}
        stores = {layer: self.cache.open(keys[layer]) for layer in self.layers}
        # writers lock their files in key order, so two processes needing overlapping layers never deadlock
        missing = sorted((layer for layer in self.layers if stores[layer] is None), key=keys.__getitem__)
        if missing:
            writers = {layer: self.cache.writer(keys[layer], stimuli.stimulus_ids, chunk_rows=self.batch_size,
                                                model=self.model.identifier, layer=layer) for layer in missing}
            try:
                self._run(stimuli, writers, reducers)
                stores.update({layer: writer.finish() for layer, writer in writers.items()})
            finally:
                for writer in writers.values():
                    writer.close()
        return stores

    def extract_batch(self, images: torch.Tensor, layers: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Flattened float32 outputs of ``layers`` (default: the extractor's) for a preprocessed (n, 3, H, W) batch."""
        outputs: dict[str, np.ndarray] = {}

        def keep_copy(layer: str, values: np.ndarray) -> None:
            # `values` shares memory with the activation, which a later in-place op (e.g. ReLU(inplace=True))
            # may overwrite within the same forward pass: copy it now, as the sinks of `extract` do.
            outputs[layer] = values.copy()

        self._forward(images, tuple(layers or self.layers), keep_copy)
        return outputs

    def _check_modality(self, stimuli: Any) -> None:
        expected = self.model.accepted_modalities
        if getattr(stimuli, "modality", "image") not in expected:
            raise InvalidInputError(
                f"stimulus set {stimuli.identifier!r} holds {stimuli.modality} stimuli; "
                f"model {self.model.identifier!r} takes {' or '.join(expected)} stimuli"
            )

    def _projection_identity(self, layer: str) -> str | None:
        identity = None if self.projection is None else self.projection.identity(self.model, layer)
        if self.precision == "float32":
            return identity
        return content_hash("precision", self.precision, identity)

    def _autocast(self) -> contextlib.AbstractContextManager:
        """Autocast to ``precision`` on the model's device type, or nothing for float32."""
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(self.model.device).type, dtype=dtype)

    def _fitted_reducers(self) -> dict[str, Any]:
        """The projection's reducer per layer, fitted on ``projection.fit_stimuli`` (loaded from the cache when
        fitted before; layers still to fit share one pass over the fit stimuli)."""
        if self.projection is None:
            return {}
        folder = None if self.cache is None else self.cache.directory / "projections"
        keys = {layer: self._projection_identity(layer) for layer in self.layers}
        fitted = {layer: load_fitted(folder, keys[layer]) if folder else None for layer in self.layers}
        missing = [layer for layer in self.layers if fitted[layer] is None]
        if missing:
            fit_stimuli = self.projection.fit_stimuli
            self._check_modality(fit_stimuli)
            sinks = {layer: ReducerFit(self.projection.reducer(), len(fit_stimuli), self.projection.fit_chunk)
                     for layer in missing}
            self._run(fit_stimuli, sinks, {}, description="fit projection")
            for layer, sink in sinks.items():
                fitted[layer] = sink.finish()
                if folder:
                    save_fitted(folder, keys[layer], fitted[layer])
        return fitted

    def _forward(self, images: torch.Tensor, layers: tuple[str, ...], store: Callable[[str, np.ndarray], None]) -> None:
        """One forward pass; each hooked layer's flattened output goes to ``store(layer, values)`` at once, so the
        activation tensor is freed as in a bare forward pass. A module called twice stores its last output."""
        n, fired, calls = images.shape[0], set(), 0
        stop_after = self._hook_calls.get(layers)

        def hook(name: str):
            def record(_module, _inputs, output):
                nonlocal calls
                store(name, main_tensor(output, name).detach().reshape(n, -1).to("cpu", torch.float32).numpy())
                fired.add(name)
                calls += 1
                if calls == stop_after:
                    raise _StopForward

            return record

        module = self.model.module
        handles = [module.get_submodule(name).register_forward_hook(hook(name)) for name in layers]
        try:
            with torch.inference_mode(), self._autocast():
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

    def _run(self, stimuli: Any, sinks: Mapping[str, Any], reducers: Mapping[str, Any],
             description: str = "features") -> None:
        """Forward every batch from the first row some sink still lacks; each layer's (projected) rows go to its
        sink (``write(start, rows)``), and every sink is told when a batch is complete (``commit(stop)``)."""
        n = len(stimuli)
        first = min(sink.rows_done for sink in sinks.values())
        starts = range(first, n, self.batch_size)
        source = isinstance(self.model, SourceModel)  # the source reads its own inputs and layers
        inputs = (None for _ in starts) if source else self._image_batches(stimuli, starts)
        with contextlib.closing(inputs) as batches:
            for start, images in zip(tqdm(starts, desc=f"{self.model.identifier} {description}", unit="batch",
                                          disable=not self.progress), batches, strict=True):
                stop = min(start + self.batch_size, n)

                def store(layer: str, values: np.ndarray, start: int = start) -> None:
                    reducer = reducers.get(layer)
                    sinks[layer].write(start, values if reducer is None else project(reducer, values))

                if source:
                    with self._autocast():
                        features = self.model.batch_features(stimuli, range(start, stop), tuple(sinks))
                    for layer, values in features.items():
                        store(layer, values)
                else:
                    self._forward(images, tuple(sinks), store)
                for sink in sinks.values():
                    sink.commit(stop)

    def _image_batches(self, stimuli: Any, starts: range) -> Iterator[torch.Tensor]:
        """The preprocessed (n, 3, H, W) batch at each of ``starts``, in order; with ``workers``, the next
        ``workers + 1`` batches are decoded in threads while the caller runs the forward pass on this one."""
        transform, n = self.model.preprocessing.transform, len(stimuli)

        def load(start: int) -> torch.Tensor:
            stop = min(start + self.batch_size, n)
            return torch.stack([transform(stimuli.load_image(i)) for i in range(start, stop)])

        if self.workers == 0:
            yield from map(load, starts)
            return
        pending: deque = deque()
        queued = iter(starts)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="brainalign-decode") as pool:
            try:
                for start in queued:
                    pending.append(pool.submit(load, start))
                    if len(pending) > self.workers:
                        break
                while pending:
                    images = pending.popleft().result()
                    for start in queued:
                        pending.append(pool.submit(load, start))
                        break
                    yield images
            finally:  # stopped early (error, interrupt): drop the batches not yet decoded
                for future in pending:
                    future.cancel()


class _ArraySink:
    """Rows written into one in-memory (stimulus, unit) array, allocated at the first write."""

    rows_done = 0

    def __init__(self, n_rows: int):
        self.n_rows = n_rows
        self.values: np.ndarray | None = None

    def write(self, start: int, values: np.ndarray) -> None:
        if self.values is None:
            self.values = np.empty((self.n_rows, values.shape[1]), dtype=np.float32)
        self.values[start:start + len(values)] = values

    def commit(self, stop: int) -> None:
        pass


class _StopForward(BaseException):
    """Raised by the last hook of a forward pass to skip the layers nobody asked for (BaseException: not swallowed
    by models that catch Exception)."""
