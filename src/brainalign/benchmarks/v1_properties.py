"""Marques et al. (2021) V1 single-neuron property benchmarks: one per property, ``Marques2020_<Study>-<property>``.

Like the behavioural benchmarks these are called with a model (and a ``layer``, default: the model's first default
layer), not with one layer's features. Following Brain-Score's protocol the model sees 8° of visual angle across
its whole input (resized, not centre-cropped); the gratings are drawn at that field of view
(`brainalign.data.gratings`). A `V1Recording` maps each unit's receptive field with the receptive-field gratings,
keeps the units centred within 0.15° of the stimuli, converts their activations into firing rates and records
their responses to the orientation, spatial-frequency and size sets (saved once per model and layer, so every
property benchmark of a model reuses them). Each benchmark estimates its study's properties
(`brainalign.metrics.properties.estimation`), compares their distribution over units with the neurons' by the KS
similarity on the property's bins and divides by the neurons' self-similarity (`distribution`). ``Marques2020-V1``
is the mean over all of them. FreemanZiemba2013's texture properties need texture images this package does not
hold and have no benchmark.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import register_benchmark
from brainalign.core.config import cache_dir
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.score import Score
from brainalign.core.storage import atomic_path, content_hash
from brainalign.data.datasets.marques2020 import Marques2020
from brainalign.data.gratings import grating_stimulus_set
from brainalign.data.stimuli import StimulusSet
from brainalign.metrics.properties.distribution import N_SAMPLES, distribution_similarity, property_ceiling
from brainalign.metrics.properties.estimation import (
    ESTIMATORS,
    estimate_properties,
    firing_rate_transform,
    firing_rates,
    receptive_field_centres,
    units_at,
)
from brainalign.models.extractor import Extractor
from brainalign.models.loading import load_model
from brainalign.models.screen import BRAIN_SCORE_MODEL_DEGREES, uncropped
from brainalign.models.sources.base import ImagePreprocessing

MARQUES = Marques2020.identifier
STIMULUS_POSITION = (0.5, 0.5)  # (y, x) degrees from the centre: where every property grating is shown
_RECORDING_VERSION = 1  # bump when the recorded numbers would change
#: The quick protocol's subset of each grating set (pandas queries): half the phases (F1 stays exact on 4 equally
#: spaced phases), RF positions every 0.5 degrees, one radius or spatial frequency, every other spatial frequency.
QUICK_PROTOCOL = {
    "receptive_field": "phase == 0 and position_y % 0.5 == 0 and position_x % 0.5 == 0",
    "orientation": "radius == 1 and phase % 90 == 0",
    "spatial_frequency": "radius == 2.25 and phase % 90 == 0 and sf_rank % 2 == 0",
    "size": "spatial_frequency == 2 and phase % 90 == 0",
}

#: (study, property in the assembly, benchmark name) — Brain-Score's 15 grating benchmarks.
PROPERTIES: tuple[tuple[str, str, str], ...] = (
    ("Ringach2002", "circular_variance", "circular_variance"),
    ("Ringach2002", "bandwidth", "or_bandwidth"),
    ("Ringach2002", "orthogonal_preferred_ratio", "orth_pref_ratio"),
    ("Ringach2002", "orientation_selective", "or_selective"),
    ("Ringach2002", "circular_variance_bandwith_ratio", "cv_bandwidth_ratio"),
    ("Ringach2002", "orthogonal_preferred_ratio_circular_variance_difference", "opr_cv_diff"),
    ("Ringach2002", "max_dc", "max_dc"),
    ("Ringach2002", "modulation_ratio", "modulation_ratio"),
    ("DeValois1982a", "preferred_orientation", "pref_or"),
    ("DeValois1982b", "peak_spatial_frequency", "peak_sf"),
    ("Cavanaugh2002a", "surround_suppression_index", "surround_suppression_index"),
    ("Cavanaugh2002a", "grating_summation_field", "grating_summation_field"),
    ("Cavanaugh2002a", "surround_diameter", "surround_diameter"),
    ("Schiller1976c", "spatial_frequency_selective", "sf_selective"),
    ("Schiller1976c", "spatial_frequency_bandwidth", "sf_bandwidth"),
)
# the assemblies spell one property "bandwith"; the estimators compute it under its proper name
_ESTIMATED_NAME = {"circular_variance_bandwith_ratio": "circular_variance_bandwidth_ratio"}


def grating_parameters(kind: str, quick: bool = False) -> pd.DataFrame:
    """The parameters of Marques2020 grating set ``kind``; with ``quick`` its `QUICK_PROTOCOL` subset.

    >>> import os, pathlib
    >>> if (pathlib.Path(os.environ.get("BRAINALIGN_MIRROR", "/nonexistent")) / "marques2020").is_dir():
    ...     assert len(grating_parameters("orientation", quick=True)) == 144
    """
    table = Marques2020().grating_parameters(kind)
    if not quick:
        return table
    ranks = table["spatial_frequency"].rank(method="dense").astype(int) - 1
    return table.assign(sf_rank=ranks).query(QUICK_PROTOCOL[kind]).drop(columns="sf_rank").reset_index(drop=True)


def benchmark_identifier(study: str, name: str) -> str:
    """``Marques2020_<Study without its a/b/c suffix>-<name>`` as Brain-Score names them.

    >>> benchmark_identifier("DeValois1982b", "peak_sf")
    'Marques2020_DeValois1982-peak_sf'
    """
    return f"{MARQUES}_{study.rstrip('abc')}-{name}"


class V1Recording:
    """Firing rates of a model layer's units centred on the stimuli, for each grating set (see the module).

    ``max_units`` keeps a seeded random subset of those units (all by default); ``quick`` shows the
    `QUICK_PROTOCOL` subset of each grating set (about 1,200 instead of 8,232 gratings; for tests and previews, not
    for reported scores). Results are saved as ``.npz`` in the cache, keyed by model weights, layer and settings.
    """

    def __init__(self, model: Any, layer: str | None = None, *, max_units: int | None = None, seed: int = 0,
                 quick: bool = False, batch_size: int = 64, device: str | None = None, progress: bool = True):
        loaded = load_model(model, device=device)
        if isinstance(loaded.preprocessing, ImagePreprocessing):  # Brain-Score resizes the whole field of view
            loaded = dataclasses.replace(loaded, preprocessing=uncropped(loaded.preprocessing))
        layer = layer or loaded.card.default_layers[0]
        self.extractor = Extractor(loaded, layers=[layer], batch_size=batch_size, cache=False, progress=False)
        self.layer, self.max_units, self.seed, self.quick, self.progress = layer, max_units, seed, quick, progress
        self.image_size = int(getattr(loaded.preprocessing, "image_size", 224))
        self.key = content_hash(_RECORDING_VERSION, loaded.identifier, loaded.weights_checksum, layer, max_units, seed,
                                quick, getattr(loaded.preprocessing, "as_dict", dict)(), self.image_size)
        self._data: dict[str, np.ndarray] | None = None

    def parameters(self, kind: str) -> pd.DataFrame:
        """The parameters of grating set ``kind`` as shown (see `grating_parameters`)."""
        return grating_parameters(kind, self.quick)

    def gratings(self, kind: str) -> StimulusSet:
        """Grating set ``kind`` at the model's field of view, with the blank screen as last stimulus."""
        return grating_stimulus_set(self.parameters(kind), f"{MARQUES}.{kind}", self.image_size,
                                    BRAIN_SCORE_MODEL_DEGREES, blank=True)

    @property
    def data(self) -> dict[str, np.ndarray]:
        """Arrays: ``units`` (indices), ``transform`` (slope, offset), ``baseline`` and ``<kind>`` rates."""
        if self._data is None:
            path = cache_dir("v1_properties") / f"{self.key}.npz"
            if path.is_file():
                with np.load(path, allow_pickle=False) as stored:
                    self._data = dict(stored)
            else:
                self._data = self._record()
                with atomic_path(path) as tmp, open(tmp, "wb") as handle:
                    np.savez(handle, **self._data)
        return self._data

    def properties(self, study: str) -> pd.DataFrame:
        """One row per responsive unit with the properties of ``study`` (a key of `ESTIMATORS`)."""
        kind = _grating_set(study)
        return estimate_properties(study, self.data[kind], self.parameters(kind), self.data["baseline"])

    def _batches(self, stimuli: StimulusSet, what: str):
        transform = self.extractor.model.preprocessing.transform
        for start in tqdm(range(0, len(stimuli), self.extractor.batch_size), desc=f"{self.layer} {what}",
                          disable=not self.progress, leave=False):
            stop = min(start + self.extractor.batch_size, len(stimuli))
            images = torch.stack([transform(stimuli.load_image(i)) for i in range(start, stop)])
            yield start, stop, self.extractor.extract_batch(images)[self.layer]

    def _record(self) -> dict[str, np.ndarray]:
        rf = self.gratings("receptive_field")
        grid = self.parameters("receptive_field")[["position_y", "position_x"]].astype(float)
        which = grid.groupby(["position_y", "position_x"], sort=True).ngroup().to_numpy()
        positions = grid.drop_duplicates().sort_values(["position_y", "position_x"]).to_numpy()
        rf_map = blank = None
        for start, stop, values in self._batches(rf, "receptive fields"):
            if rf_map is None:
                rf_map = np.full((values.shape[1], len(positions)), -np.inf, dtype=np.float32)
            for row, values_row in zip(range(start, stop), values, strict=True):
                if row == len(rf) - 1:
                    blank = values_row.astype(float)
                else:
                    np.maximum(rf_map[:, which[row]], values_row, out=rf_map[:, which[row]])
        assert rf_map is not None and blank is not None
        units = units_at(receptive_field_centres(rf_map, positions, blank), STIMULUS_POSITION)
        if self.max_units is not None and len(units) > self.max_units:
            units = np.sort(np.random.default_rng(self.seed).choice(units, self.max_units, replace=False))
        if not len(units):
            raise InvalidInputError(f"no unit of layer {self.layer!r} has its receptive field within 0.15 degrees "
                                    f"of the stimuli at {STIMULUS_POSITION}; choose an earlier layer")
        responses = {}
        for kind in ("orientation", "spatial_frequency", "size"):
            stimuli = self.gratings(kind)
            rows = [values[:, units] for _, _, values in self._batches(stimuli, kind)]
            responses[kind] = np.concatenate(rows).T[:, :-1]  # units × stimuli, blank dropped
        transform = firing_rate_transform(responses["orientation"], self.parameters("orientation"),
                                          blank[units])
        data = {kind: firing_rates(values, transform) for kind, values in responses.items()}
        return {**data, "units": units, "transform": np.array(transform),
                "baseline": firing_rates(blank[units], transform)}


def _grating_set(study: str) -> str:
    if study not in ESTIMATORS:
        raise UnknownNameError("V1 property study", study, ESTIMATORS)
    return ESTIMATORS[study][0]


def _recording(model: Any, layer: str | None, max_units: int | None, quick: bool) -> V1Recording:
    """``model`` itself when it is a recording; one recording per catalog name, layer and unit cap otherwise."""
    if isinstance(model, V1Recording):
        return model
    if isinstance(model, str):
        return _named_recording(model, layer, max_units, quick)
    return V1Recording(model, layer, max_units=max_units, quick=quick)


@functools.lru_cache(maxsize=8)
def _named_recording(model: str, layer: str | None, max_units: int | None, quick: bool) -> V1Recording:
    return V1Recording(model, layer, max_units=max_units, quick=quick)


@dataclass(frozen=True, eq=False)
class V1PropertyBenchmark(Benchmark):
    """One V1 property (``selection``: ``study``, ``property``); called with a model and optionally a ``layer``."""

    target: str = "properties"
    n_samples: int = N_SAMPLES

    def __hash__(self) -> int:
        return hash((self.identifier, self.version))

    def __call__(self, model: Any, layer: str | None = None, *,  # type: ignore[override]
                 max_units: int | None = None, quick: bool = False) -> Score:
        """Score ``model`` (anything `load_model` takes; a `V1Recording` to reuse one) at ``layer``; ``max_units``
        and ``quick`` as in `V1Recording`."""
        if hasattr(model, "dims"):
            raise InvalidInputError(f"{self.identifier} needs the model itself (it shows its own gratings), not "
                                    "one layer's features")
        recording = _recording(model, layer, max_units, quick)
        estimated = recording.properties(self.selection["study"])
        name = self.selection["property"]
        score = self.compare(estimated[_ESTIMATED_NAME.get(name, name)].to_numpy())
        score.provenance.update(benchmark=self.identifier, benchmark_version=self.version, metric=self.metric,
                                layer=recording.layer, model=recording.extractor.model.identifier)
        return score

    def compare(self, values: np.ndarray) -> Score:
        """Score model units' property ``values`` against the neurons: KS similarity / the neurons' ceiling."""
        data, bins = self.target_data()
        raw = distribution_similarity(values, data, bins, self.n_samples)
        ceiling = self.neuron_ceiling()
        return Score(raw.raw / ceiling, raw=raw.raw, ceiling=ceiling, error=raw.error, per_split=raw.per_split,
                     extra=raw.extra)

    def target_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The neurons' values of the property and its bin edges."""
        assembly = self._dataset().properties(self.selection["study"])
        name = self.selection["property"]
        return assembly.sel(neuronal_property=name).values, assembly.attrs["bins"][name]

    def neuron_ceiling(self) -> float:
        """The neurons' similarity to themselves (``ceiling``: ``"bootstrap"`` as Brain-Score, or ``"split-half"``)."""
        return _ceiling(self)

    def stimulus_set(self) -> StimulusSet:
        """The study's grating set at the experiment's 12 degrees (the model sees it at its own field of view)."""
        return self._dataset().stimulus_set(_grating_set(self.selection["study"]))

    def units(self, normalised: bool) -> str:
        return "KS similarity/ceiling" if normalised else "KS similarity"


@functools.lru_cache(maxsize=32)
def _ceiling(benchmark: V1PropertyBenchmark) -> float:
    data, bins = benchmark.target_data()
    return property_ceiling(data, bins, benchmark.ceiling or "bootstrap", benchmark.n_samples)


@dataclass(frozen=True, eq=False)
class V1CompositeBenchmark(V1PropertyBenchmark):
    """The mean normalised score over every V1 property benchmark (``extra``: each one's score)."""

    def __call__(self, model: Any, layer: str | None = None, *,  # type: ignore[override]
                 max_units: int | None = None, quick: bool = False) -> Score:
        if hasattr(model, "dims"):
            raise InvalidInputError(f"{self.identifier} needs the model itself, not one layer's features")
        recording = _recording(model, layer, max_units, quick)
        scores = {b.identifier: b(recording) for b in PROPERTY_BENCHMARKS}
        values = np.array([s.value for s in scores.values()])
        score = Score(float(np.mean(values)), error=float(np.std(values, ddof=1) / math.sqrt(len(values))),
                      per_split=values, extra={name: s.value for name, s in scores.items()})
        score.provenance.update(benchmark=self.identifier, benchmark_version=self.version, metric=self.metric,
                                layer=recording.layer, model=recording.extractor.model.identifier)
        return score

    def stimulus_set(self) -> StimulusSet:
        return self._dataset().stimulus_set("orientation")

    def units(self, normalised: bool) -> str:
        return "mean KS similarity/ceiling"


PROPERTY_BENCHMARKS: tuple[V1PropertyBenchmark, ...] = tuple(
    V1PropertyBenchmark(benchmark_identifier(study, name), MARQUES, "V1", "ks_similarity",
                        selection={"study": study, "property": prop}, ceiling="bootstrap",
                        description=f"macaque V1 {prop} distribution ({study}); KS similarity of the model units' "
                                    "distribution on the study's bins, over 1000 bootstrap samples, / the neurons' "
                                    "bootstrap self-similarity")
    for study, prop, name in PROPERTIES)
COMPOSITE = V1CompositeBenchmark(f"{MARQUES}-V1", MARQUES, "V1", "ks_similarity", selection={"study": "all"},
                                 ceiling="bootstrap", description="mean over the 15 Marques2020 V1 property benchmarks")

for _benchmark in (*PROPERTY_BENCHMARKS, COMPOSITE):
    register_benchmark(_benchmark)
