"""``brainalign run``: a models × layers × benchmarks (× metrics) grid at scale, from flags or a TOML run file.

Finished cells (already in ``--store``) are skipped, a killed run loses only the cells in flight, a bar shows the
cells done overall and a table summarises the run. Example::

    brainalign run -m alexnet -m resnet18 -b Kriegeskorte2008.hIT-rsa --workers 2 --store results.sqlite
    brainalign run plan.toml --executor slurm --max-concurrent 16 --store postgresql://me@db:5432/brainalign
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from brainalign.core.errors import BrainAlignError


def run(
    plan_file: Annotated[Path | None, typer.Argument(help="TOML run file (see brainalign.runner.run); flags given "
                                                     "here override its entries.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Model(s): catalog id, registered "
                                                    "user model or path/to/file.py:factory.")] = None,
    benchmark: Annotated[list[str] | None, typer.Option("--benchmark", "-b", help="Benchmark identifier(s).")] = None,
    layer: Annotated[list[str] | None, typer.Option("--layer", "-l", help="Layer(s); default: each model's "
                                                    "default layers.")] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Score each benchmark with each of these "
                                                     "metrics.")] = None,
    store: Annotated[str | None, typer.Option(help="Results store: an SQLite file (default results.sqlite) or "
                                              "postgresql://user@host:port/db.")] = None,
    imports: Annotated[list[str] | None, typer.Option("--import", help="Module or .py file imported first in every "
                                                      "worker (registers models, benchmarks, metrics).")] = None,
    executor: Annotated[str | None, typer.Option(help="local (default) or slurm.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: one per core).")] = None,
    max_concurrent: Annotated[int | None, typer.Option(help="SLURM: array tasks running at once.")] = None,
    partition: Annotated[str | None, typer.Option(help="SLURM partition (default: the cluster's).")] = None,
    cpus_per_task: Annotated[int | None, typer.Option(help="SLURM: CPUs per job.")] = None,
    gpus_per_node: Annotated[int | None, typer.Option(help="SLURM: GPUs per job.")] = None,
    mem_gb: Annotated[float | None, typer.Option(help="SLURM: memory per job (GB).")] = None,
    timeout_min: Annotated[int | None, typer.Option(help="SLURM: time limit per job (minutes); a job past it is "
                                                    "requeued and resumes.")] = None,
    folder: Annotated[Path | None, typer.Option(help="SLURM: folder for job files and logs.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Stimuli per forward pass.")] = None,
    device: Annotated[str | None, typer.Option(envvar="BRAINALIGN_DEVICE", help="cpu, cuda, mps.")] = None,
    ci: Annotated[float | None, typer.Option(min=0.5, max=0.999, help="Bootstrap confidence level.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the run's rows as .csv or "
                                                ".parquet.")] = None,
) -> None:
    """Run a grid of models × layers × benchmarks into a results store; finished cells are skipped."""
    from brainalign.cli import console, print_table
    from brainalign.runner.run import RunPlan, run
    from brainalign.store.export import export_table

    try:
        execution: dict[str, Any] = {k: v for k, v in {
            "kind": executor, "workers": workers, "max_concurrent": max_concurrent, "partition": partition,
            "cpus_per_task": cpus_per_task, "gpus_per_node": gpus_per_node, "mem_gb": mem_gb,
            "timeout_min": timeout_min, "folder": None if folder is None else str(folder)}.items() if v is not None}
        flags: dict[str, Any] = {
            "models": tuple(model) if model else None, "benchmarks": tuple(benchmark) if benchmark else None,
            "layers": tuple(layer) if layer else None, "metrics": tuple(metric) if metric else None,
            "store": store, "imports": tuple(imports) if imports else None, "batch_size": batch_size,
            "device": device, "ci": ci}
        if plan_file is not None:
            plan = RunPlan.from_toml(plan_file, **flags)
            if execution:
                plan = dataclasses.replace(plan, executor={**plan.executor, **execution})
        else:
            plan = RunPlan(**{k: v for k, v in flags.items() if v is not None}, executor=execution)
        if output is not None:
            from brainalign.cli import check_output

            check_output(output)
        report = run(plan)
        summary = report.summary()
        print_table(summary, title=f"run: {report.planned} cells, {report.skipped} already stored, "
                                   f"{report.computed} computed in {report.seconds:.1f} s; feature reuse "
                                   f"{report.reuse:.0%}; store {plan.store}")
        for group, error in report.failures.items():
            console.print(f"[red]failed:[/red] {group}: {error}")
        if output is not None:
            export_table(report.table, output)
            console.print(f"wrote {output}")
        if report.failures:
            raise typer.Exit(code=1)
    except BrainAlignError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None
