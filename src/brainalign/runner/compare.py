"""`compare()`: which of several models or layers scores higher on one encoding benchmark, and how sure are we?

Each candidate (a model and one of its layers) is scored on the benchmark once, keeping its held-out predictions
(`brainalign.metrics.encoding.engine.recording_held_out`); every pair is then compared by
:func:`brainalign.stats.compare.compare_scores`: a paired bootstrap of the test stimuli (the same draws for all
candidates, so the pairing is kept), a two-sided p-value per pair and the p-values corrected over all pairs.
Features come from the feature cache, presented as the benchmark declares; all candidates share the benchmark's
seeded splits.

>>> candidates(["a", "b"], ["l1", "l2"])
[('a', 'l1'), ('a', 'l2'), ('b', 'l1'), ('b', 'l2')]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.metrics.encoding.engine import HeldOut, recording_held_out
from brainalign.models.projection import Projection
from brainalign.runner.score import benchmark_features, resolve_benchmark, resolve_device, resolve_model, resolve_pca
from brainalign.stats.compare import compare_scores


def candidates(models: Sequence[Any], layers: Sequence[str]) -> list[tuple[Any, str]]:
    """Every (model, layer) pair of ``models`` × ``layers`` (see the module example)."""
    return [(model, layer) for model in models for layer in layers]


def held_out(model: Any, benchmark: Benchmark, layers: Sequence[str | None], *, batch_size: int = 32,
             device: str | None = None, pca: Projection | None = None) -> tuple[str, dict[str, HeldOut]]:
    """A loaded model's identifier and, per layer (``None``: the card's default layers), the held-out predictions
    its score on ``benchmark`` came from."""
    loaded = resolve_model(model, device=device)
    layers = list(dict.fromkeys(name for layer in layers
                                for name in ([layer] if layer else loaded.card.default_layers)))
    features = benchmark_features(loaded, benchmark, layers, batch_size=batch_size, device=device, pca=pca)
    out = {}
    for layer in layers:
        with recording_held_out() as records:
            benchmark(features[layer])
        if len(records) != 1:
            raise InvalidInputError(
                f"compare needs an encoding benchmark scored from one set of held-out predictions; "
                f"{benchmark.identifier} (metric {benchmark.metric!r}) gave {len(records)}")
        out[layer] = records[0]
    return loaded.card.identifier, out


def compare(pairs: Sequence[tuple[Any, str | None]], benchmark: str | Benchmark, *, n_samples: int = 1000,
            ci: float = 0.95, correction: str = "fdr_bh", seed: int = 0, batch_size: int = 32,
            device: str | None = None, pca: Projection | str | os.PathLike | None = None) -> pd.DataFrame:
    """Paired comparison of every two (model, layer) ``pairs`` (layer ``None``: each of the model's default
    layers) on ``benchmark``: one row per pair with both
    scores (``score_a``, ``score_b``: the benchmark's ``value``), their ``difference``, its percentile CI
    (``ci_low``, ``ci_high``), ``p_value`` and ``p_adjusted`` (``correction``: fdr_bh, bonferroni, none).
    ``pca`` as in `brainalign.runner.score.score`.
    """
    device = resolve_device(device)
    bench = resolve_benchmark(benchmark)
    if bench.target != "responses":
        raise InvalidInputError(f"compare needs an encoding benchmark (held-out predictions of responses); "
                                f"{bench.identifier} compares {bench.target}")
    if all(layer is not None for _, layer in pairs) and len(set(pairs)) < 2:
        raise InvalidInputError(f"compare needs at least 2 (model, layer) candidates; got {list(pairs)}")
    projection = resolve_pca(pca)
    by_model: dict[Any, list[str | None]] = {}
    for model, layer in pairs:
        by_model.setdefault(model, []).append(layer)
    results: dict[str, HeldOut] = {}
    with config_context(device=device):
        for model, layers in by_model.items():
            identifier, records = held_out(model, bench, layers, batch_size=batch_size, device=device,
                                           pca=projection)
            results.update({f"{identifier}:{layer}": record for layer, record in records.items()})
    if len(results) < 2:
        raise InvalidInputError(f"compare needs at least 2 (model, layer) candidates; got {list(results)}")
    first = next(iter(results.values()))
    table = compare_scores({name: record.predictions for name, record in results.items()}, n_samples=n_samples,
                           ci=ci, aggregate=first.aggregate, correction=correction, seed=seed)
    table.insert(0, "benchmark", bench.identifier)
    return table
