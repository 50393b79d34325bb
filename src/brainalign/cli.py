"""The ``brainalign`` command line: score, list, layers, models search, plot, demo.

Run ``brainalign --help`` for the commands.
"""

from __future__ import annotations

import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from brainalign.core.errors import BrainAlignError

app = typer.Typer(help="How brain-like is this network's representation, where, and how sure are we?",
                  no_args_is_help=True, pretty_exceptions_enable=False)
models_app = typer.Typer(help="Browse the model catalog.", no_args_is_help=True)
app.add_typer(models_app, name="models")
# Piped output (CI logs, `| tee`) gets a wide table instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)

DEMO_MODELS = ("efficientnet_lite0", "efficientnet_lite0_random")
DEMO_BENCHMARKS = ("Kriegeskorte2008.hIT-rsa", "Kriegeskorte2008.mIT-rsa", "Net2Brain78.EVC-rsa",
                   "Net2Brain78.IT-rsa", "Cowley2023.V4-ridge")


class Listing(str, Enum):
    models = "models"
    benchmarks = "benchmarks"
    metrics = "metrics"
    datasets = "datasets"


def print_table(frame: pd.DataFrame, title: str | None = None) -> None:
    """Print a DataFrame as a rich table (floats with 3 decimals)."""
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


def _scores_with_unique_warnings(*args, **kwargs) -> pd.DataFrame:
    """`score_grid` with each distinct warning printed once (e.g. an unreliable ceiling warns once per layer)."""
    from brainalign.runner.score import score_grid

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = score_grid(*args, **kwargs)
    for message in dict.fromkeys(str(w.message) for w in caught):
        console.print(f"[yellow]warning:[/yellow] {message}")
    return results


def _fail(error: Exception) -> None:
    console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(code=2)


@app.command()
def score(
    model: Annotated[list[str], typer.Option("--model", "-m", help="Catalog identifier(s); see `brainalign list models`.")],
    benchmark: Annotated[list[str], typer.Option("--benchmark", "-b", help="Benchmark identifier(s).")],
    layer: Annotated[list[str] | None, typer.Option("--layer", "-l", help="Layer(s); default: the card's default layers.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the results table as CSV.")] = None,
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 32,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 (default: cpu).")] = None,
    store: Annotated[Path | None, typer.Option(help="SQLite results file: rows already there are not recomputed.")] = None,
) -> None:
    """Score model layers on benchmarks; prints a table and the best layer per (model, benchmark)."""
    from brainalign.store.results import ResultsStore

    try:
        results = _scores_with_unique_warnings(model, benchmark, layer, store=ResultsStore(store) if store else None,
                             batch_size=batch_size, device=device)
    except BrainAlignError as error:
        _fail(error)
    _report(results, output)


def _report(results: pd.DataFrame, output: Path | None) -> None:
    shown = results[["model", "layer", "benchmark", "score", "raw", "ceiling", "error", "normalised", "best"]]
    print_table(shown, title="scores (score = raw / ceiling where normalised; raw = metric value)")
    if output is not None:
        _save_csv(results, output)


def _save_csv(results: pd.DataFrame, output: Path) -> None:
    from brainalign.core.storage import atomic_path

    with atomic_path(output) as tmp:
        results.to_csv(tmp, index=False)
    console.print(f"wrote {output}")


@app.command("list")
def list_things(kind: Annotated[Listing, typer.Argument(help="What to list.")]) -> None:
    """List registered models, benchmarks, metrics or datasets."""
    if kind is Listing.models:
        from brainalign.models.catalog import search_models

        print_table(search_models()[["identifier", "source", "family", "training_method", "weights"]])
    elif kind is Listing.benchmarks:
        from brainalign.benchmarks.registry import BENCHMARKS, list_benchmarks

        rows = [{"identifier": b, "version": BENCHMARKS[b].version, "metric": BENCHMARKS[b].metric,
                 "description": BENCHMARKS[b].description} for b in list_benchmarks()]
        print_table(pd.DataFrame(rows))
    elif kind is Listing.metrics:
        from brainalign.metrics.registry import list_metrics

        for name in list_metrics():
            console.print(name)
    else:
        from brainalign.data.registry import get_dataset, list_datasets

        print_table(pd.DataFrame([get_dataset(name).info() for name in list_datasets()]))


@app.command()
def layers(model: Annotated[str, typer.Argument(help="Catalog identifier.")]) -> None:
    """List the layer names of a model (usable with --layer)."""
    from brainalign.models.extractor import list_layers
    from brainalign.models.loading import load_model

    try:
        names = list_layers(load_model(model))
    except BrainAlignError as error:
        _fail(error)
    for name in names:
        console.print(name)


@models_app.command("search")
def models_search(
    query: Annotated[str | None, typer.Argument(help="Fuzzy name query.")] = None,
    where: Annotated[list[str] | None, typer.Option("--where", "-w", help="Filter FIELD=VALUE, e.g. family=CNN.")] = None,
) -> None:
    """Search the catalog by name and taxonomy (e.g. `brainalign models search resnet -w training_method=random`)."""
    from brainalign.models.catalog import search_models

    filters = {}
    for clause in where or []:
        if "=" not in clause:
            _fail(BrainAlignError(f"filter {clause!r} must look like FIELD=VALUE"))
        key, value = clause.split("=", 1)
        filters[key.strip()] = value.strip()
    try:
        found = search_models(query, **filters)
    except BrainAlignError as error:
        _fail(error)
    print_table(found[["identifier", "source", "family", "task", "training_method", "parameters", "weights"]])


@app.command()
def plot(
    results: Annotated[Path, typer.Argument(help="A results CSV written by `brainalign score`.")],
    output: Annotated[Path, typer.Option("--output", "-o")] = Path("scores.png"),
) -> None:
    """Plot score per layer per benchmark with the noise ceiling."""
    from brainalign.report.plots import plot_layer_scores

    console.print(f"wrote {plot_layer_scores(pd.read_csv(results), output)}")


@app.command()
def demo(output: Annotated[Path, typer.Option("--output", "-o")] = Path("demo_output")) -> None:
    """Score trained and random-weight efficientnet_lite0 on the five built-in benchmarks (real data)."""
    from brainalign.report.plots import plot_layer_scores
    from brainalign.store.results import ResultsStore

    try:
        results = _scores_with_unique_warnings(DEMO_MODELS, DEMO_BENCHMARKS,
                                               store=ResultsStore(output / "results.sqlite"))
    except BrainAlignError as error:
        _fail(error)
    per_layer = results.pivot_table(index=["benchmark", "model"], columns="layer", values="score", sort=False)
    print_table(per_layer.reset_index(), title="score per layer (raw / ceiling where normalised)")
    best = results[results["best"]][["model", "benchmark", "layer", "score", "raw", "ceiling", "normalised"]]
    print_table(best, title="best layer per model and benchmark")
    _save_csv(results, output / "scores.csv")
    console.print(f"wrote {plot_layer_scores(results, output / 'scores.png')}")


if __name__ == "__main__":  # pragma: no cover
    app()
