"""`run()`: models × layers × benchmarks (× metrics) at scale: planned, grouped, executed, resumable.

A `RunPlan` (from arguments or a TOML run file, `RunPlan.from_toml`) is turned into `CellGroup` s: the cells
(model, layer, benchmark) of one model on benchmarks that show it the same stimuli, so one worker extracts the
features once and every benchmark of the group reads them from the persistent feature cache. Each group runs
`score_grid` (the one scoring loop) in an executor (`brainalign.runner.executors`); every row goes to the
results store as soon as it is computed, cells already stored are skipped when planning, so a killed run loses
at most the cells in flight and the next run finishes the rest.

Run file (paths relative to the file)::

    models = ["alexnet", "nets.py:make"]
    benchmarks = ["Kriegeskorte2008.hIT-rsa", "Cowley2023.V4-ridge"]
    layers = ["features.2"]          # optional; default: each model's default layers
    metrics = ["rsa", "cka"]         # optional; each benchmark with each metric
    store = "results.sqlite"         # or "postgresql://user@host:5432/db"
    imports = ["my_benchmarks.py"]   # optional; imported first in every worker (registers models, benchmarks)
    [executor]
    kind = "local"                   # or "slurm" (then: partition, cpus_per_task, gpus_per_node, mem_gb, ...)
    workers = 2

>>> plan = RunPlan(models=("m",), benchmarks=("Kriegeskorte2008.mIT-rsa",), metrics=("cka",))
>>> [b.identifier for b in plan_benchmarks(plan)]
['Kriegeskorte2008.mIT-cka']
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.runner.executors import Executor, make_executor
from brainalign.runner.score import mark_best, resolve_benchmark, resolve_model, row_key, score_grid
from brainalign.store.results import KEY, ResultsStore

EXECUTOR_KEYS = ("kind", "workers", "partition", "cpus_per_task", "gpus_per_node", "mem_gb", "timeout_min",
                 "max_concurrent", "folder", "poll_s")


@dataclass(frozen=True)
class RunPlan:
    """What to run and where. ``executor``: options of `make_executor` (``kind`` local or slurm, ...)."""

    models: tuple[str, ...]
    benchmarks: tuple[str, ...]
    layers: tuple[str, ...] | None = None
    metrics: tuple[str, ...] | None = None
    store: str = "results.sqlite"
    imports: tuple[str, ...] = ()
    batch_size: int = 32
    device: str | None = None
    ci: float | None = None
    executor: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("models", "benchmarks"):
            if not getattr(self, name):
                raise InvalidInputError(f"a run needs at least one entry in {name!r}")
        unknown = sorted(set(self.executor) - set(EXECUTOR_KEYS))
        if unknown:
            raise InvalidInputError(f"unknown executor option(s) {unknown}; valid: {list(EXECUTOR_KEYS)}")

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> RunPlan:
        """The plan in the TOML file ``path`` (relative store, imports and model files resolved against its
        folder); ``overrides`` (not ``None``) replace its entries."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise InvalidInputError(f"cannot read run file {path}: {error}") from None
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise InvalidInputError(f"run file {path}: unknown key(s) {unknown}; valid: {valid}")
        base = path.resolve().parent
        if "store" in data and "://" not in data["store"]:
            data["store"] = str(base / data["store"])
        data["imports"] = [str(base / p) if p.endswith(".py") else p for p in data.get("imports", ())]
        data["models"] = [_relative_model(base, m) for m in data.get("models", ())]
        data.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("models", "benchmarks", "layers", "metrics", "imports"):
            if data.get(name) is not None:
                data[name] = tuple(data[name])
        return cls(**data)


def _relative_model(base: Path, model: str) -> str:
    file, sep, factory = model.rpartition(":")
    return f"{base / file}{sep}{factory}" if sep and file.endswith(".py") and not Path(file).is_absolute() else model


def import_plugins(imports: Sequence[str]) -> None:
    """Import modules (dotted names) or ``.py`` files that register models, benchmarks or metrics (a file
    already imported under any name is not run again)."""
    for name in imports:
        if name.endswith(".py"):
            path = Path(name).resolve()
            module_name = f"brainalign_plugin_{path.stem}"
            if module_name in sys.modules or _imported(path):
                continue
            if not path.is_file():
                raise InvalidInputError(f"import {name!r}: no such file")
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[module_name] = module
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            importlib.import_module(name)


def _imported(path: Path) -> bool:
    """Whether the file ``path`` was already imported (under any module name): it is not run twice."""
    return any(getattr(module, "__file__", None) == str(path) for module in list(sys.modules.values()))


def with_metric(benchmark: Benchmark, metric: str) -> Benchmark:
    """``benchmark`` scored with ``metric``: the registered ``<dataset.region>-<metric>`` benchmark when there is
    one, else the same data slice and ceiling with the other metric (identifier ``<prefix>-<metric>``)."""
    from brainalign.benchmarks.registry import BENCHMARKS
    from brainalign.metrics.registry import get_metric

    if metric == benchmark.metric:
        return benchmark
    get_metric(metric)  # an unknown metric lists the valid ones
    suffix = f"-{benchmark.metric}"
    prefix = benchmark.identifier.removesuffix(suffix) if benchmark.identifier.endswith(suffix) else \
        benchmark.identifier
    identifier = f"{prefix}-{metric}"
    if identifier in BENCHMARKS.names():
        return BENCHMARKS.get(identifier)
    return dataclasses.replace(benchmark, identifier=identifier, metric=metric, metric_options={})


def plan_benchmarks(plan: RunPlan) -> list[Benchmark]:
    """The benchmarks of ``plan``: each listed one, or each with each of ``plan.metrics``."""
    return [bench for bench, _ in _benchmark_entries(plan)]


def _benchmark_entries(plan: RunPlan) -> list[tuple[Benchmark, tuple[str, str | None]]]:
    """(benchmark, (listed identifier, metric or None)) per distinct benchmark of ``plan``, in plan order;
    composite names (``vision``) stand for their members."""
    from brainalign.benchmarks.composite import expand_benchmarks

    entries: dict[str, tuple[Benchmark, tuple[str, str | None]]] = {}
    for identifier in expand_benchmarks(list(plan.benchmarks)):
        bench = resolve_benchmark(identifier)
        for metric in plan.metrics or (None,):
            variant = bench if metric is None else with_metric(bench, metric)
            entries.setdefault(variant.identifier, (variant, (identifier, metric)))
    return list(entries.values())


@dataclass(frozen=True)
class CellGroup:
    """The cells of one model on benchmarks with the same stimuli (``fingerprint``): one unit of work."""

    model: str
    benchmarks: tuple[str, ...]  # plan benchmark identifiers, before `with_metric`
    metrics: tuple[str | None, ...]  # per entry of ``benchmarks``: the metric to score with (None: its own)
    layers: tuple[str, ...] | None
    fingerprint: str
    cells: tuple[tuple, ...]  # store keys (tuples in KEY order) of the cells to compute
    feature_cells: int = 0  # cells scored on extracted features (not behavioural read-outs)
    extractions: int = 0  # distinct layers whose features are not in the feature cache yet

    def resolve(self) -> list[Benchmark]:
        """The group's `Benchmark` objects (in a worker, after `import_plugins`)."""
        benches = [resolve_benchmark(b) for b in self.benchmarks]
        return [b if m is None else with_metric(b, m) for b, m in zip(benches, self.metrics, strict=True)]


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs besides its group (plain values: they travel to other processes and machines)."""

    store: str
    imports: tuple[str, ...] = ()
    batch_size: int = 32
    device: str | None = None
    ci: float | None = None


class GroupFailed(RuntimeError):
    """Some benchmarks of a group failed (the others of the group were still scored)."""


def run_group(group: CellGroup, settings: WorkerSettings) -> int:
    """Score one group with `score_grid` into the store (rows already there are read back); returns its row count.

    Runs in a worker: a thread, a process of the local pool, or a SLURM job. The model is loaded once; each
    benchmark after the first reads its features from the feature cache. A benchmark that fails does not stop
    the others: the failures are raised together at the end as `GroupFailed`.
    """
    import_plugins(settings.imports)
    store = ResultsStore(settings.store)
    loaded = resolve_model(group.model, device=settings.device)
    rows, errors = 0, []
    for bench in group.resolve():
        try:
            rows += len(score_grid([loaded], [bench], group.layers, store=store, batch_size=settings.batch_size,
                                   device=settings.device, ci=settings.ci))
        except Exception as error:  # reported with its benchmark; the group's other benchmarks still run
            errors.append(f"{bench.identifier}: {type(error).__name__}: {error}")
    if errors:
        raise GroupFailed("; ".join(errors))
    return rows


def plan_groups(plan: RunPlan, store: ResultsStore) -> tuple[list[CellGroup], list[tuple], dict[tuple, tuple]]:
    """Groups of the cells still to compute, every cell's key (in plan order) and its (model, layer, benchmark).

    Loads each model once (for its weights checksum and layers) and each benchmark's stimuli (for their
    fingerprint); a cell is done when its key is in the store (with ``plan.ci``: and its row has an interval).
    """
    from brainalign.models.feature_cache import FeatureCache, feature_key
    from brainalign.models.loading import list_layers

    import_plugins(plan.imports)
    entries = _benchmark_entries(plan)
    benches = [bench for bench, _ in entries]
    done = store.stored_keys() if plan.ci is None else {k for k in store.stored_keys() if _has_interval(store, k)}
    stimuli = {bench.identifier: bench.stimulus_set() for bench in benches}
    fingerprints = {identifier: s.fingerprint() for identifier, s in stimuli.items()}
    cache = FeatureCache()
    groups, keys, labels = [], [], {}
    for spec in plan.models:
        loaded = resolve_model(spec, device=plan.device)
        valid = list_layers(loaded)
        for layer in plan.layers or ():
            if layer not in valid:
                raise UnknownNameError("layer", layer, valid)
        by_stimuli: dict[str, list[tuple[Benchmark, tuple]]] = {}
        for bench, pair in entries:
            by_stimuli.setdefault(fingerprints[bench.identifier], []).append((bench, pair))
        for fingerprint, members in by_stimuli.items():
            cells, to_extract, feature_cells = [], set(), 0
            for bench, _ in members:
                wanted = [bench.layer] if bench.target == "behaviour" else list(
                    plan.layers or loaded.card.default_layers)
                for layer in wanted:
                    key = tuple(row_key(loaded.card.identifier, loaded.weights_checksum, bench, layer)[k] for k in KEY)
                    keys.append(key)
                    labels[key] = (loaded.card.identifier, layer, bench.identifier)
                    if key not in done:
                        cells.append(key)
                        if bench.target != "behaviour":
                            to_extract.add(layer)
                            feature_cells += 1
            if not cells:
                continue
            some = stimuli[members[0][0].identifier]
            cached = sum(cache.path(feature_key(loaded, layer, some, None, fingerprint)).exists()
                         for layer in to_extract)
            groups.append(CellGroup(spec, tuple(p[0] for _, p in members), tuple(p[1] for _, p in members),
                                    plan.layers, fingerprint, tuple(cells), feature_cells,
                                    len(to_extract) - cached))
    return groups, keys, labels


def _has_interval(store: ResultsStore, key: tuple) -> bool:
    row = store.get(dict(zip(KEY, key, strict=True)))
    value = None if row is None else row.get("ci_low")
    return value is not None and value == value


@dataclass
class RunReport:
    """What a run did: its results table (one row per planned cell, ``best`` marked), counts and timings."""

    table: pd.DataFrame
    planned: int
    skipped: int  # cells already in the store before the run
    computed: int
    failures: dict[str, str]  # group (model @ benchmarks) → error message
    seconds: float
    extractions_needed: int  # (layer, benchmark) cells that score features
    extractions_run: int  # distinct (model, layer, stimuli) feature sets extracted (not already cached)

    @property
    def reuse(self) -> float:
        """Share of feature-scoring cells served by features extracted for another cell or an earlier run."""
        return 1 - self.extractions_run / self.extractions_needed if self.extractions_needed else 0.0

    def summary(self) -> pd.DataFrame:
        """Per (model, benchmark): cells, best layer and its score."""
        if self.table.empty:
            return pd.DataFrame(columns=["model", "benchmark", "cells", "best_layer", "score"])
        grouped = self.table.groupby(["model", "benchmark"], sort=False)
        best = self.table[self.table["best"]].set_index(["model", "benchmark"])
        summary = grouped.size().rename("cells").to_frame()
        summary["best_layer"] = best["layer"]
        summary["score"] = best["score"]
        return summary.reset_index()


def run(plan: RunPlan, *, executor: Executor | None = None, progress: bool = True,
        on_cell: Callable[[tuple[str, str, str]], None] | None = None) -> RunReport:
    """Compute every cell of ``plan`` not yet in its store, in ``executor`` (default: from ``plan.executor``).

    Progress: an overall bar over the plan's cells, advanced as rows land in the store (whichever process
    wrote them); ``on_cell`` is called with (model, layer, benchmark) of each newly stored cell. A group that
    fails is reported in ``failures``; the others still run.
    """
    start = time.monotonic()
    store = ResultsStore(plan.store)
    groups, keys, labels = plan_groups(plan, store)
    executor = executor or make_executor(**plan.executor)
    settings = WorkerSettings(plan.store, tuple(plan.imports), plan.batch_size, plan.device, plan.ci)
    todo = {cell for group in groups for cell in group.cells}
    failures: dict[str, str] = {}
    with tqdm(total=len(keys), initial=len(keys) - len(todo), desc="cells", unit="cell", disable=not progress) as bar:
        def tick() -> None:
            finished = todo & store.stored_keys()
            for cell in finished:
                bar.set_postfix_str(" ".join(labels[cell]), refresh=False)
                if on_cell is not None:
                    on_cell(labels[cell])
            bar.update(len(finished))
            todo.difference_update(finished)

        if groups:
            handles = executor.submit(run_group, [(group, settings) for group in groups])
            for group, error in zip(groups, executor.wait(handles, tick), strict=True):
                if error is not None:
                    failures[f"{group.model} ({len(group.cells)} cells)"] = error
        tick()
    computed = sum(len(g.cells) for g in groups) - len(todo)
    needed = sum(g.feature_cells for g in groups)
    extracted = sum(g.extractions for g in groups)
    return RunReport(_table(store, keys), len(keys), len(keys) - sum(len(g.cells) for g in groups), computed,
                     failures, time.monotonic() - start, needed, extracted)


def _table(store: ResultsStore, keys: list[tuple]) -> pd.DataFrame:
    """The stored rows of ``keys`` in plan order (cells that failed are absent), ``best`` marked."""
    from brainalign.runner.score import PROVENANCE_COLUMNS, RESULT_COLUMNS

    stored = store.table()
    if stored.empty:
        return mark_best(pd.DataFrame(columns=RESULT_COLUMNS + PROVENANCE_COLUMNS))
    stored["benchmark_version"] = stored["benchmark_version"].astype(int)
    stored = stored.drop_duplicates(list(KEY), keep="last").set_index(list(KEY))
    present = [k for k in keys if k in stored.index]
    rows = stored.loc[present].reset_index() if present else stored.iloc[:0].reset_index()
    return mark_best(rows.reindex(columns=RESULT_COLUMNS + PROVENANCE_COLUMNS))
