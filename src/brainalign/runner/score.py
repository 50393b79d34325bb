"""`score()`: score a model's layers on a benchmark; `score_grid()`: models × benchmarks, resumable.

>>> import pandas as pd
>>> table = pd.DataFrame({"model": ["m", "m"], "benchmark": ["b", "b"], "layer": ["l1", "l2"], "score": [0.1, 0.4]})
>>> mark_best(table)["best"].tolist()
[False, True]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.score import Score
from brainalign.store.results import ResultsStore

RESULT_COLUMNS = ["model", "layer", "benchmark", "benchmark_version", "metric", "score", "raw", "ceiling",
                  "ceiling_raw_units", "error", "normalised"]


@dataclass
class LayerScores:
    """Per-layer scores of one model on one benchmark; ``best_layer`` has the highest score."""

    model: str
    benchmark: Benchmark
    scores: dict[str, Score]

    @property
    def best_layer(self) -> str:
        return self.table().sort_values("score", ascending=False, na_position="last")["layer"].iloc[0]

    def table(self) -> pd.DataFrame:
        """One row per layer with the columns of :data:`RESULT_COLUMNS`."""
        b = self.benchmark
        rows = [
            {"model": self.model, "layer": layer, "benchmark": b.identifier, "benchmark_version": b.version,
             "metric": b.metric, "score": s.value, "raw": s.raw, "ceiling": s.ceiling,
             "ceiling_raw_units": b.ceiling_in_raw_units(s), "error": s.error, "normalised": _normalised(s)}
            for layer, s in self.scores.items()
        ]
        return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _normalised(score: Score) -> bool:
    """Whether ``score.value`` was divided by a ceiling (a metric may decline an unreliable one)."""
    return not math.isnan(score.ceiling) and bool(score.extra.get("ceiling_reliable", True))


def mark_best(table: pd.DataFrame) -> pd.DataFrame:
    """Add a boolean ``best`` column: the highest-scoring layer of each (model, benchmark)."""
    table = table.reset_index(drop=True)
    best = table.groupby(["model", "benchmark"], sort=False)["score"].idxmax().dropna()
    table["best"] = table.index.isin(best.astype(int))
    return table


def score(
    model,
    benchmark: str | Benchmark,
    layers: Sequence[str] | None = None,
    *,
    batch_size: int = 32,
    device: str | None = None,
) -> LayerScores:
    """Score ``layers`` (default: the model card's default layers) of ``model`` on ``benchmark``.

    ``model`` is a catalog identifier or a loaded model. Features are cached on disk, so scoring the
    same stimuli again (other benchmarks, another session) skips the forward pass.
    """
    from brainalign.models.extractor import Extractor
    from brainalign.models.loading import load_model

    bench = get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    loaded = load_model(model, device=device or "cpu") if isinstance(model, str) else model
    layers = list(layers) if layers else list(loaded.card.default_layers)
    features = Extractor(loaded, layers=layers, batch_size=batch_size, device=device).extract(bench.stimulus_set())
    return LayerScores(loaded.card.identifier, bench, {layer: bench(features[layer]) for layer in layers})


def score_grid(
    models: Sequence[str],
    benchmarks: Sequence[str],
    layers: Sequence[str] | None = None,
    *,
    store: ResultsStore | None = None,
    batch_size: int = 32,
    device: str | None = None,
) -> pd.DataFrame:
    """Score every model on every benchmark: one row per (model, benchmark, layer), ``best`` marked.

    With a ``store``, each row is saved as soon as it is computed and rows already stored (same
    benchmark version) are not computed again, so an interrupted grid resumes where it stopped.
    """
    from brainalign.models.catalog import get_card
    from brainalign.models.loading import load_model

    tables = []
    for model in models:
        wanted = list(layers) if layers else list(get_card(model).default_layers)
        loaded = None
        for identifier in benchmarks:
            bench = get_benchmark(identifier)
            todo = [l for l in wanted if store is None or not store.has(model, l, bench.identifier, bench.version)]
            if todo:
                loaded = loaded or load_model(model, device=device or "cpu")
                table = score(loaded, bench, todo, batch_size=batch_size, device=device).table()
                for row in table.to_dict("records"):
                    if store is not None:
                        store.put(row)
                tables.append(table)
            if store is not None and len(todo) < len(wanted):
                stored = store.table()
                done = stored[(stored["model"] == model) & (stored["benchmark"] == bench.identifier)
                              & (stored["benchmark_version"] == bench.version) & stored["layer"].isin(wanted)
                              & ~stored["layer"].isin(todo)]
                tables.append(done.reindex(columns=RESULT_COLUMNS))
    return mark_best(pd.concat(tables, ignore_index=True))
