"""`score()`: score a model's layers on a benchmark; `score_grid()`: models × benchmarks, resumable.

A model is a catalog identifier, a registered user model, ``path/to/file.py:factory``, a ``torch.nn.Module``,
a callable returning arrays, or a loaded model. With a `ResultsStore`, each (model, layer, benchmark) row is
written as soon as it is computed, keyed by the model's weights checksum, the benchmark version and options and
the brainalign version, so an interrupted grid resumes where it stopped and changed weights are scored again.

Benchmarks with ``presentation_degrees`` (the Brain-Score-protocol ones) are shown as Brain-Score shows them:
each stimulus placed at that visual angle in the model's ``model_degrees`` field (gray padding) and resized to the
model's input without a centre crop (`brainalign.models.screen.present`). ``pca`` reduces every layer before
the mapping (Brain-Score's PCA-1000, fitted on a folder of images). Both enter the feature cache keys and the
store keys (``metric_options``), so rows and features of different presentations never mix.

>>> import pandas as pd
>>> table = pd.DataFrame({"model": ["m", "m", "n"], "benchmark": ["b", "b", "b"], "layer": ["l1", "l2", "l1"],
...                       "score": [0.1, 0.4, float("nan")]})
>>> mark_best(table)["best"].tolist()
[False, True, False]
"""

from __future__ import annotations

import datetime
import functools
import importlib.metadata
import importlib.util
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.config import check_device, config_context, get_config
from brainalign.core.errors import InvalidInputError
from brainalign.core.score import Score
from brainalign.core.storage import content_hash
from brainalign.models.projection import Projection, describe_reducer
from brainalign.models.screen import BRAIN_SCORE_MODEL_DEGREES, present
from brainalign.store.results import ResultsStore

RESULT_COLUMNS = ["model", "weights", "layer", "benchmark", "benchmark_version", "metric", "units", "score", "raw",
                  "ceiling", "ceiling_raw_units", "ceiling_upper", "error", "error_kind", "ci_low", "ci_high",
                  "p_value", "normalised", "peak_time", "time_course", "time_points"]
PROVENANCE_COLUMNS = ["weights_checksum", "metric_options", "brainalign_version", "seed", "n_splits", "data_sha256",
                      "packages", "time"]
_PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "xarray", "pandas")


@dataclass
class LayerScores:
    """Per-layer scores of one model on one benchmark; ``best_layer`` has the highest score (``None``: all NaN)."""

    model: str
    benchmark: Benchmark
    scores: dict[str, Score]
    weights_checksum: str = ""
    weights: str = ""  # training status of the model's weights: e.g. "ImageNet-1k", or "random"
    extraction: dict[str, Any] = field(default_factory=dict)  # presentation / PCA options (see `extraction`)

    @property
    def best_layer(self) -> str | None:
        table = self.table().dropna(subset=["score"])
        return None if table.empty else table.sort_values("score", ascending=False)["layer"].iloc[0]

    def table(self) -> pd.DataFrame:
        """One row per layer with the columns of :data:`RESULT_COLUMNS` and :data:`PROVENANCE_COLUMNS`."""
        rows = [result_row(self.model, self.weights_checksum, self.benchmark, layer, score, weights=self.weights,
                           extraction=self.extraction) for layer, score in self.scores.items()]
        return pd.DataFrame(rows, columns=RESULT_COLUMNS + PROVENANCE_COLUMNS)


def row_key(model: str, weights_checksum: str, benchmark: Benchmark, layer: str,
            extraction: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The store key of one (model, layer, benchmark) result (see `brainalign.store.results.KEY`); the
    ``extraction`` options (:func:`extraction`) join the benchmark's options in ``metric_options``."""
    import brainalign

    options = benchmark.options()
    if extraction:
        options = json.dumps({**json.loads(options), **extraction}, sort_keys=True, default=str)
    return {"model": model, "weights_checksum": weights_checksum, "layer": layer, "benchmark": benchmark.identifier,
            "benchmark_version": benchmark.version, "metric_options": options,
            "brainalign_version": brainalign.__version__}


def extraction(benchmark: Any, pca: Projection | None = None,
               model_degrees: float = BRAIN_SCORE_MODEL_DEGREES) -> dict[str, Any]:
    """What besides the benchmark decides a row's features: the model's field of view when the benchmark
    declares a presentation, and the identity of ``pca`` (fit images, reducer) for neural benchmarks.

    >>> from brainalign.benchmarks.registry import get_benchmark
    >>> extraction(get_benchmark("Cowley2023.V4-pls")), extraction(get_benchmark("Cowley2023.V4-ridge"))
    ({'model_degrees': 8.0}, {})
    """
    options: dict[str, Any] = {}
    if getattr(benchmark, "presentation_degrees", None) is not None:
        options["model_degrees"] = float(model_degrees)
    if pca is not None and benchmark.target != "behaviour":
        options["pca"] = content_hash(pca.fit_stimuli.fingerprint(), list(pca.fit_stimuli.stimulus_ids),
                                      describe_reducer(pca.reducer()), pca.fit_chunk)
    return options


def resolve_pca(pca: Projection | str | os.PathLike | None) -> Projection | None:
    """``pca`` as a `Projection`: a folder of images gives Brain-Score's PCA-1000 fitted on them
    (`brainalign.benchmarks.brainscore_protocol.brain_score_pca`)."""
    if pca is None or isinstance(pca, Projection):
        return pca
    from brainalign.benchmarks.brainscore_protocol import brain_score_pca

    if not os.path.isdir(pca):
        raise InvalidInputError(f"pca must be a Projection or a folder of images; {os.fspath(pca)!r} is not a folder")
    return brain_score_pca(pca)


def result_row(model: str, weights_checksum: str, benchmark: Benchmark, layer: str, score: Score, *,
               weights: str = "", extraction: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One results-table row: the score, its units, the model's training status (``weights``) and provenance."""
    normalised = _normalised(score)
    return {
        **row_key(model, weights_checksum, benchmark, layer, extraction), "weights": weights,
        "metric": benchmark.metric, "units": benchmark.units(normalised), "score": score.value, "raw": score.raw,
        "ceiling": score.ceiling, "ceiling_raw_units": benchmark.ceiling_in_raw_units(score), "error": score.error,
        "error_kind": score.extra.get("error_kind"),  # named by the metric that computed ``error``
        **{key: score.extra.get(key, math.nan) for key in ("ci_low", "ci_high", "p_value", "ceiling_upper")},
        **_time_course(score),
        "normalised": normalised, "seed": score.provenance.get("seed"), "n_splits": score.provenance.get("n_splits"),
        "data_sha256": benchmark.data_sha256(), "packages": _package_versions(),
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _time_course(score: Score) -> dict[str, Any]:
    """A time-resolved score's course (``time_course`` and ``time_points``: JSON lists, one entry per time point,
    as `brainalign.report.plots.time_course_rows` reads them) and ``peak_time``; empty for other scores."""
    if "time_course" not in score.extra:
        return {}
    course, times = (np.asarray(score.extra[key], dtype=float).tolist() for key in ("time_course", "time"))
    return {"time_course": json.dumps(course), "time_points": json.dumps(times),
            "peak_time": float(score.extra["peak_time"])}


@functools.lru_cache(maxsize=1)
def _package_versions() -> str:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return json.dumps(versions, sort_keys=True)


def _normalised(score: Score) -> bool:
    """Whether ``score.value`` was divided by a ceiling (a metric may decline an unreliable one)."""
    return not math.isnan(score.ceiling) and bool(score.extra.get("ceiling_reliable", True))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def mark_best(table: pd.DataFrame) -> pd.DataFrame:
    """Add a boolean ``best`` column: the highest-scoring layer of each (model, benchmark); NaN scores never win."""
    table = table.reset_index(drop=True)
    scored = table.dropna(subset=["score"])
    best = scored.groupby(["model", "benchmark"], sort=False)["score"].idxmax()
    table["best"] = table.index.isin(best.astype(int))
    return table


def resolve_model(model: Any, *, device: str | None = None, name: str | None = None,
                  modality: str = "image") -> Any:
    """A loaded model (with ``card`` and ``weights_checksum``) from anything `load_model` takes.

    Torch modules, plain callables and ``path/to/file.py:factory`` files are registered as user models of
    ``modality`` named ``name`` (default: chosen by `load_model` from the object and its content hash), so
    new weights give a new identity and a new store key.
    """
    from brainalign.models.loading import load_model
    from brainalign.models.sources.base import LoadedModel

    if isinstance(model, LoadedModel):
        return model
    options = {} if modality == "image" or isinstance(model, str) else {"modality": modality}
    return load_model(model, device=device, identifier=name, **options)


def resolve_benchmark(benchmark: str | Benchmark) -> Benchmark:
    """The registered benchmark named ``benchmark``, or ``benchmark`` itself when it is a `Benchmark`-like object."""
    if isinstance(benchmark, str):
        return get_benchmark(benchmark)
    if not (callable(benchmark) and hasattr(benchmark, "stimulus_set") and hasattr(benchmark, "identifier")):
        raise InvalidInputError(f"benchmark must be an identifier or a Benchmark; got {type(benchmark).__name__}")
    return benchmark


def resolve_device(device: str | None) -> str:
    """``device`` checked, else the compute context's device, else ``"cpu"``."""
    return check_device(device) or get_config()["device"] or "cpu"


def score(
    model: Any,
    benchmark: str | Benchmark,
    layers: Sequence[str] | None = None,
    *,
    batch_size: int = 32,
    device: str | None = None,
    store: ResultsStore | None = None,
    name: str | None = None,
    ci: float | None = None,
    pca: Projection | str | os.PathLike | None = None,
    model_degrees: float = BRAIN_SCORE_MODEL_DEGREES,
) -> LayerScores:
    """Score ``layers`` (default: the model's default layers) of ``model`` on ``benchmark``.

    ``model``: see the module docstring (``name`` names an unnamed module or callable). Features are cached
    on disk, so scoring the same stimuli again skips the forward pass. With a ``store``, each layer's row is
    written as soon as its score is computed. Metrics run in the compute context of ``device``. With ``ci``
    (e.g. 0.95) each row also gets a bootstrap confidence interval and a p-value (``ci_low, ci_high, p_value``).
    ``pca`` (a `Projection`, or a folder of images for Brain-Score's PCA-1000) reduces each layer before the
    mapping; ``model_degrees`` is the model's field of view for benchmarks with ``presentation_degrees``.

    >>> import numpy as np
    >>> from brainalign.runner.score import resolve_model
    >>> resolve_model(lambda batch: np.zeros((len(batch), 3)), name="zeros").card.default_layers
    ['output']
    """
    device = resolve_device(device)
    bench = resolve_benchmark(benchmark)
    stimuli = bench.stimulus_set()
    loaded = resolve_model(model, device=device, name=name, modality=stimuli.modality)
    projection = resolve_pca(pca)
    results = LayerScores(loaded.card.identifier, bench, {}, loaded.weights_checksum, loaded.card.training_status,
                          extraction(bench, projection, model_degrees))
    with config_context(device=device):
        if bench.target == "behaviour":  # the model's own decisions, read out once at the benchmark's layer
            layers = [bench.layer]

            def compute(layer: str) -> Score:
                return bench(loaded)
        elif bench.target == "properties":  # single-unit properties: the benchmark records each layer itself
            layers = list(layers) if layers else list(loaded.card.default_layers)

            def compute(layer: str) -> Score:
                return bench(loaded, layer)
        else:
            layers = list(layers) if layers else list(loaded.card.default_layers)
            features = benchmark_features(loaded, bench, layers, batch_size=batch_size, device=device,
                                          pca=projection, model_degrees=model_degrees)

            def compute(layer: str) -> Score:
                return bench(features[layer]) if ci is None else bench(features[layer], ci=ci)
        for layer in layers:
            results.scores[layer] = compute(layer)
            if store is not None:
                store.put(result_row(results.model, results.weights_checksum, bench, layer, results.scores[layer],
                                     weights=results.weights, extraction=results.extraction))
    return results


def benchmark_features(loaded: Any, benchmark: Any, layers: Sequence[str], *, batch_size: int = 32,
                       device: str | None = None, pca: Projection | None = None,
                       model_degrees: float = BRAIN_SCORE_MODEL_DEGREES) -> dict[str, Any]:
    """`Features` per layer of a loaded model on a neural benchmark's stimuli, presented as the benchmark declares
    (``presentation_degrees``: Brain-Score's presentation in a ``model_degrees`` field) and reduced by ``pca``."""
    from brainalign.models.extractor import Extractor

    stimuli = benchmark.stimulus_set()
    if getattr(benchmark, "presentation_degrees", None) is not None:
        loaded, stimuli = present(loaded, stimuli, benchmark.presentation_degrees, model_degrees)
    return Extractor(loaded, layers=layers, batch_size=batch_size, device=device, projection=pca).extract(stimuli)


def score_grid(
    models: Sequence[Any],
    benchmarks: Sequence[str | Benchmark],
    layers: Sequence[str] | None = None,
    *,
    store: ResultsStore | None = None,
    batch_size: int = 32,
    device: str | None = None,
    ci: float | None = None,
    pca: Projection | str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Score every model on every benchmark: one row per (model, benchmark, layer), ``best`` marked.

    Every benchmark is resolved before any computing starts. With a ``store``, each row is saved as soon as it is
    computed and rows already stored under the same key are read back instead of computed again. Layers whose
    score is NaN keep their row (``best`` is False). With ``ci``, stored rows without an interval are recomputed.
    ``pca``: as in :func:`score`.
    """
    device = resolve_device(device)
    benches = [resolve_benchmark(b) for b in benchmarks]
    projection = resolve_pca(pca)
    rows: list[dict[str, Any]] = []
    for model in models:
        loaded = resolve_model(model, device=device)
        identifier, checksum = loaded.card.identifier, loaded.weights_checksum
        for bench in benches:
            wanted = [bench.layer] if bench.target == "behaviour" else (
                list(layers) if layers else list(loaded.card.default_layers))
            stored = {}
            if store is not None:
                options = extraction(bench, projection)
                stored = {layer: store.get(row_key(identifier, checksum, bench, layer, options)) for layer in wanted}
            todo = [layer for layer in wanted if stored.get(layer) is None
                    or (ci is not None and _missing(stored[layer].get("ci_low")))]
            computed = {}
            if todo:
                table = score(loaded, bench, todo, batch_size=batch_size, device=device, store=store, ci=ci,
                              pca=projection).table()
                computed = {row["layer"]: row for row in table.to_dict("records")}
            rows.extend(computed[layer] if layer in computed else stored[layer] for layer in wanted)
    return mark_best(pd.DataFrame(rows).reindex(columns=RESULT_COLUMNS + PROVENANCE_COLUMNS))
