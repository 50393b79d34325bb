"""`BrainModel`: a network behind Brain-Score's model interface — commit layers to regions, record, look at stimuli.

A region is committed to the layer that scores best on a mapping benchmark (scored with
:func:`brainalign.runner.score.score`, stimuli shown at the benchmark dataset's visual angle). Recording then
returns that layer's activations as `Responses` (stimulus × neuroid [× repetition] [× time]) for any stimuli.
It lives in ``runner`` because committing scores benchmarks.

>>> model = BrainModel("efficientnet_lite0_random", visual_degrees=8, region_layers={"IT": "blocks.6"})
>>> model.visual_degrees(), model.region_layers
(8, {'IT': 'blocks.6'})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, TIME, make_responses
from brainalign.data.stimuli import StimulusSet
from brainalign.models.extractor import Extractor
from brainalign.models.feature_cache import FeatureCache
from brainalign.models.loading import ModelSpec, load_model
from brainalign.models.screen import place_on_screen
from brainalign.runner.score import LayerScores, score


class BrainModel:
    """A model that sees ``visual_degrees`` of visual angle (Brain-Score's default: 8) across its input.

    ``model`` is anything `load_model` takes (a catalog identifier, a torch module, a callable, a spec string, a
    loaded model), on ``device`` (default: the compute context's, `default_device()`). ``region_layers``
    pre-commits regions to layers; :meth:`commit` adds more by scoring. ``cache``, ``batch_size`` and ``device``
    are passed to the `Extractor`.
    """

    def __init__(self, model: ModelSpec, visual_degrees: float = 8, region_layers: Mapping[str, str] | None = None,
                 *, batch_size: int = 32, device: str | None = None, cache: bool | FeatureCache = True):
        self.model = load_model(model, device=device)
        self._visual_degrees = visual_degrees
        self.region_layers = dict(region_layers or {})
        self.batch_size, self.device, self.cache = batch_size, device, cache
        self._recording: tuple[list[str], list[tuple[float, float]] | None] | None = None

    @property
    def identifier(self) -> str:
        return self.model.identifier

    def visual_degrees(self) -> float:
        """Visual angle (degrees) that the model's input spans."""
        return self._visual_degrees

    def commit(self, benchmark: str | Benchmark, layers: Sequence[str] | None = None,
               region: str | None = None) -> LayerScores:
        """Score ``layers`` (default: the card's) on a mapping ``benchmark`` and commit ``region`` (default: the
        benchmark's) to the best one. Stimuli are placed at the dataset's visual angle when it is known."""
        bench = get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
        scores = score(self.model, _OnScreen(bench, self._visual_degrees), layers, batch_size=self.batch_size,
                       device=self.device, model_degrees=self._visual_degrees)
        if scores.best_layer is None:
            raise InvalidInputError(f"cannot commit region {region or bench.region!r}: every layer scored NaN on "
                                    f"{bench.identifier} ({', '.join(scores.scores)})")
        self.region_layers[region or bench.region] = scores.best_layer
        return scores

    def start_recording(self, region: str | Sequence[str], time_bins: Sequence[tuple[float, float]] | None = None
                        ) -> None:
        """Record committed ``region``(s) at the next :meth:`look_at`; ``time_bins`` ((start, end) ms) add a
        ``time`` dimension (a feedforward network answers the same in every bin)."""
        regions = [region] if isinstance(region, str) else list(region)
        for name in regions:
            if name not in self.region_layers:
                raise UnknownNameError("committed region", name, self.region_layers)
        self._recording = (regions, None if time_bins is None else [(float(a), float(b)) for a, b in time_bins])

    def look_at(self, stimuli: StimulusSet, number_of_trials: int = 1,
                stimulus_degrees: float | None = None) -> xr.DataArray:
        """`Responses` of the recorded regions to ``stimuli`` shown at ``stimulus_degrees`` (default: as given).

        Neuroids carry ``region``, ``layer`` and ``neuroid_id`` coords; ``number_of_trials`` > 1 adds a
        ``repetition`` dimension (the network is deterministic, so trials repeat exactly).
        """
        if self._recording is None:
            raise InvalidInputError("call start_recording(region, time_bins) before look_at")
        if number_of_trials < 1:
            raise InvalidInputError(f"number_of_trials must be at least 1; got {number_of_trials}")
        regions, time_bins = self._recording
        if stimulus_degrees is not None:
            stimuli = place_on_screen(stimuli, stimulus_degrees, self._visual_degrees)
        layers = list(dict.fromkeys(self.region_layers[r] for r in regions))
        features = Extractor(self.model, layers=layers, batch_size=self.batch_size, device=self.device,
                             cache=self.cache, progress=False).extract(stimuli)
        blocks = [(r, self.region_layers[r], features[self.region_layers[r]].values) for r in regions]
        values = np.concatenate([v for _, _, v in blocks], axis=1)
        coords = {
            "region": [r for r, _, v in blocks for _ in range(v.shape[1])],
            "layer": [layer for _, layer, v in blocks for _ in range(v.shape[1])],
            "neuroid_id": [f"{layer}.{i}" for _, layer, v in blocks for i in range(v.shape[1])],
        }
        dims = [STIMULUS, NEUROID]
        if number_of_trials > 1:
            values = np.repeat(values[:, :, None], number_of_trials, axis=2)
            dims.append(REPETITION)
        if time_bins is not None:
            values = np.repeat(values[..., None], len(time_bins), axis=-1)
            dims.append(TIME)
        responses = make_responses(values, stimuli.stimulus_ids, dims=dims, neuroid_coords=coords,
                                   attrs={"model": self.identifier})
        if time_bins is not None:
            responses = responses.assign_coords(time_bin_start=(TIME, [a for a, _ in time_bins]),
                                                time_bin_end=(TIME, [b for _, b in time_bins]))
        return responses


class _OnScreen:
    """A benchmark whose stimuli are placed at a model's visual angle; everything else is the benchmark's.
    A benchmark with ``presentation_degrees`` is left to `score`, which presents it Brain-Score's way."""

    def __init__(self, benchmark: Benchmark, model_degrees: float):
        self._benchmark, self._model_degrees = benchmark, model_degrees

    def stimulus_set(self) -> StimulusSet:
        stimuli = self._benchmark.stimulus_set()
        degrees = self._benchmark._dataset().visual_degrees
        if degrees is None or getattr(self._benchmark, "presentation_degrees", None) is not None:
            return stimuli
        return place_on_screen(stimuli, degrees, self._model_degrees)

    def __call__(self, features: xr.DataArray) -> Any:
        return self._benchmark(features)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._benchmark, name)
