"""The ``brainalign`` command line: score, list, layers, models search, plot, demo.

Run ``brainalign --help`` for the commands.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from brainalign.benchmarks.composite import expand_benchmarks
from brainalign.cli_benchmark import app as benchmark_app
from brainalign.cli_board import app as board_app
from brainalign.cli_board import report_composites
from brainalign.cli_compare import app as compare_app
from brainalign.cli_dataset import app as dataset_app
from brainalign.cli_insilico import app as insilico_app
from brainalign.cli_run import run as run_command
from brainalign.core.config import check_device, config_context
from brainalign.core.errors import BrainAlignError, InvalidInputError, UnknownNameError
from brainalign.core.storage import atomic_path

app = typer.Typer(help="How brain-like is this network's representation, where, and how sure are we?",
                  no_args_is_help=True, pretty_exceptions_enable=False)
models_app = typer.Typer(help="Browse the model catalog.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(insilico_app, name="insilico")
app.add_typer(board_app)  # leaderboard, serve, composite
app.add_typer(compare_app, name="compare")
app.command("run")(run_command)  # `brainalign run` (cli_run.py)
app.add_typer(benchmark_app, name="benchmark")
app.add_typer(dataset_app, name="dataset")
# Piped output (CI logs, `| tee`) gets a wide table instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)

DEMO_MODELS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "efficientnet_lite0_random")
DEMO_BENCHMARKS = ("Kriegeskorte2008.hIT-rsa", "Kriegeskorte2008.mIT-rsa", "Net2Brain78.EVC-rsa",
                   "Net2Brain78.IT-rsa", "Cowley2023.V4-ridge")


class Listing(StrEnum):
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
    failed = results[results["score"].isna()]
    for row in failed.itertuples():
        console.print(f"[yellow]warning:[/yellow] {row.model} layer {row.layer} on {row.benchmark}: score is NaN "
                      "(kept in the table, never marked best)")
    return results


def _fail(error: Exception) -> None:
    console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(code=2)


def check_output(path: Path, *, what: str = "output") -> Path:
    """The regular file that writing ``path`` will replace: a symlink is followed (written through), a FIFO,
    device or directory is refused.

    >>> import tempfile
    >>> check_output(Path(tempfile.mkdtemp()) / "new.csv").name
    'new.csv'
    """
    target = path.resolve() if path.is_symlink() else path
    if target.exists() and not target.is_file():
        raise InvalidInputError(f"{what} {path} exists and is not a regular file (a directory, FIFO or device); "
                                "choose a file path")
    if target.parent.exists() and not target.parent.is_dir():
        raise InvalidInputError(f"{what} {path}: {target.parent} is not a directory")
    return target


def write_output(path: Path, write: Callable[[Path], object], *, what: str = "output") -> Path:
    """Write ``path`` atomically through ``write(tmp)``: symlinks are written through, the file gets the
    permissions the umask gives a new file."""
    target = check_output(path, what=what)
    umask = os.umask(0)
    os.umask(umask)
    with atomic_path(target) as tmp:
        write(tmp)
        tmp.chmod(0o666 & ~umask)
    return target


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))


def _prepare_grid(models: list[str], benchmarks: list[str], layers: list[str] | None, device: str | None,
                  outputs: list[Path], store: Path | None):
    """Check every argument before anything is computed; returns (loaded models, benchmarks, store)."""
    from brainalign.models.loading import list_layers
    from brainalign.runner.score import resolve_benchmark, resolve_model
    from brainalign.store.results import ResultsStore

    check_device(device)
    for output in outputs:
        check_output(output)
        if store is not None and _same_file(output, store):
            raise InvalidInputError(f"--output {output} is the --store file; the CSV would overwrite the results "
                                    "database. Choose another output path")
    benches = [resolve_benchmark(b) for b in benchmarks]
    results_store = ResultsStore(store) if store is not None else None
    loaded = [resolve_model(m, device=device) for m in models]
    for model in loaded:
        valid = list_layers(model)
        for layer in layers or []:
            if layer not in valid:
                raise UnknownNameError("layer", layer, valid)
    return loaded, benches, results_store


@app.command()
def score(
    model: Annotated[list[str], typer.Option("--model", "-m", help="Catalog identifier(s), registered user model(s) "
                                             "or path/to/file.py:factory; see `brainalign list models`.")],
    benchmark: Annotated[list[str], typer.Option("--benchmark", "-b",
                                                 help="Benchmark identifier(s) or composite(s), e.g. vision.")],
    layer: Annotated[list[str] | None,
                     typer.Option("--layer", "-l", help="Layer(s); default: the card's default layers.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the results table as CSV.")] = None,
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 32,
    device: Annotated[str | None, typer.Option(envvar="BRAINALIGN_DEVICE",
                                               help="cpu, cuda, cuda:1, mps (default: cpu).")] = None,
    store: Annotated[Path | None,
                     typer.Option(help="SQLite results file: rows already there are not recomputed.")] = None,
    ci: Annotated[float | None, typer.Option(min=0.5, max=0.999, help="Add a bootstrap confidence interval at this "
                                             "level and a p-value (ci_low, ci_high, p_value columns).")] = None,
    pca_images: Annotated[Path | None, typer.Option(help="Reduce each layer to principal components fitted on the "
                                                    "images in this folder before mapping (Brain-Score fits "
                                                    "PCA-1000 on ImageNet images).")] = None,
    pca_components: Annotated[int, typer.Option(min=1, help="Components kept with --pca-images.")] = 1000,
) -> None:
    """Score model layers on benchmarks; prints a table and the best layer per (model, benchmark)."""
    try:
        loaded, benches, results_store = _prepare_grid(model, expand_benchmarks(benchmark), layer, device,
                                                       [output] if output else [], store)
        pca = None
        if pca_images is not None:
            from brainalign.benchmarks.brainscore_protocol import brain_score_pca

            pca = brain_score_pca(pca_images, n_components=pca_components)
        with config_context(device=device):
            results = _scores_with_unique_warnings(loaded, benches, layer, store=results_store,
                                                   batch_size=batch_size, device=device, ci=ci, pca=pca)
        _report(results, output, ci=ci is not None)
        report_composites(results, benchmark)
    except BrainAlignError as error:
        _fail(error)


SCORE_TITLE = ("scores: 'score' in the row's units (r·|r|/ceiling: median over neurons of r·|r| / reliability; "
               "ρ/ceiling: mean ρ / noise ceiling; no '/ceiling': not normalised, score = raw); "
               "raw = the metric's statistic")


def _report(results: pd.DataFrame, output: Path | None, *, ci: bool = False) -> None:
    uncertainty = ["error_kind", "ci_low", "ci_high", "p_value"] if ci else []
    shown = results[["model", "weights", "layer", "benchmark", "units", "score", "raw", "ceiling", "error",
                     *uncertainty, "normalised", "best"]]
    print_table(shown, title=SCORE_TITLE)
    if output is not None:
        _save_csv(results, output)


def _save_csv(results: pd.DataFrame, output: Path) -> None:
    write_output(output, lambda tmp: results.to_csv(tmp, index=False))
    console.print(f"wrote {output}")


@app.command("list")
def list_things(kind: Annotated[Listing, typer.Argument(help="What to list.")]) -> None:
    """List registered models, benchmarks, metrics or datasets."""
    if kind is Listing.models:
        from brainalign.models.catalog import search_models

        print_table(search_models()[["identifier", "source", "family", "training_status", "weights"]])
    elif kind is Listing.benchmarks:
        from brainalign.benchmarks.registry import BENCHMARKS

        rows = [{"identifier": name, "version": b.version, "metric": b.metric,
                 "units": f"{b.units(True)} ({b.units(False)} unnormalised)", "description": b.description}
                for name, b in BENCHMARKS.items()]
        print_table(pd.DataFrame(rows))
    elif kind is Listing.metrics:
        from brainalign.metrics.registry import list_metrics

        for name in list_metrics():
            console.print(name)
    else:
        from brainalign.benchmarks.registry import BENCHMARKS
        from brainalign.data.registry import get_dataset, list_datasets

        uses = Counter(b.dataset for _, b in BENCHMARKS.items())
        print_table(pd.DataFrame([_dataset_row(get_dataset(name).info(), uses[name]) for name in list_datasets()]))


def _dataset_row(info: dict, n_benchmarks: int) -> dict:
    """One line of ``brainalign list datasets``: the citation's authors and year, counts as integers."""
    citation = str(info["citation"])
    authors, _, rest = citation.partition(" (")
    first = authors.split(",")[0].split(" & ")[0].strip()
    names = authors.strip() if "," not in authors else f"{first} et al."  # "A", "A & B", "A et al."
    source = f"{names} ({rest[:4]})" if rest[:4].isdigit() else citation
    return {"identifier": info["identifier"], "source": source,
            "species": info["species"], "modality": info["modality"], "regions": ", ".join(info["regions"]),
            "visual degrees": "-" if info["visual_degrees"] is None else f"{info['visual_degrees']:g}",
            "files": "listed in its manifest" if info["n_files"] is None else str(info["n_files"]),
            "benchmarks": str(n_benchmarks)}


_MODEL_HELP = "Catalog identifier, registered user model or path/to/file.py:factory."


@app.command()
def layers(model: Annotated[str, typer.Argument(help=_MODEL_HELP)]) -> None:
    """List the layer names of a model (usable with --layer)."""
    from brainalign.models.loading import list_layers
    from brainalign.runner.score import resolve_model

    try:
        names = list_layers(resolve_model(model))
    except BrainAlignError as error:
        _fail(error)
    for name in names:
        console.print(name)


NUMERIC_FILTERS = ("parameters_min", "parameters_max")


@models_app.command("search")
def models_search(
    query: Annotated[str | None, typer.Argument(help="Fuzzy name query.")] = None,
    where: Annotated[list[str] | None, typer.Option("--where", "-w", help="Filter FIELD=VALUE, e.g. family=CNN or "
                                                    "parameters_max=5e6.")] = None,
) -> None:
    """Search the catalog by name and taxonomy (e.g. `brainalign models search resnet -w training_method=random`)."""
    from brainalign.models.catalog import search_models

    try:
        found = search_models(query, **_filters(where or []))
    except BrainAlignError as error:
        _fail(error)
    print_table(found[["identifier", "source", "family", "task", "training_status", "parameters", "weights"]])


def _filters(clauses: list[str]) -> dict[str, object]:
    """``FIELD=VALUE`` clauses as search filters (parameter bounds as integers)."""
    filters: dict[str, object] = {}
    for clause in clauses:
        if "=" not in clause:
            raise InvalidInputError(f"filter {clause!r} must look like FIELD=VALUE")
        key, value = (part.strip() for part in clause.split("=", 1))
        if key in NUMERIC_FILTERS:
            try:
                number = float(value)
            except ValueError:
                raise InvalidInputError(f"filter {key} needs a number of parameters (e.g. 5000000 or 5e6); "
                                        f"got {value!r}") from None
            if not number.is_integer() or number < 0:
                raise InvalidInputError(f"filter {key} needs a non-negative whole number; got {value!r}")
            filters[key] = int(number)
        else:
            filters[key] = value
    return filters


PLOT_COLUMNS = ("model", "layer", "benchmark", "raw", "error", "ceiling_raw_units")


class PlotKind(StrEnum):
    layers = "layers"
    best = "best"
    heatmap = "heatmap"
    time = "time"


class PlotValue(StrEnum):
    raw = "raw"
    score = "score"


@app.command()
def plot(
    results: Annotated[Path, typer.Argument(help="A results CSV written by `brainalign score`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG, PDF or SVG (by suffix).")] = Path("scores.png"),
    kind: Annotated[PlotKind, typer.Option(help="layers: score per layer per benchmark; best: best layer per "
                                           "model and benchmark; heatmap: layer x model; time: time courses.")]
    = PlotKind.layers,
    value: Annotated[PlotValue, typer.Option(help="raw: the metric's statistic; score: in the row's units.")]
    = PlotValue.raw,
) -> None:
    """Plot scores with the noise ceiling (default: raw score per layer per benchmark)."""
    from brainalign.report.plots import plot_layer_scores, save_plot

    try:
        table = _read_results_csv(results)
        suffix = output.suffix.lstrip(".") or "png"
        if kind is PlotKind.layers and value is PlotValue.raw:
            write_output(output, lambda tmp: plot_layer_scores(table, tmp, format=suffix))
        else:
            write_output(output, lambda tmp: save_plot(table, tmp, kind=kind.value, value=value.value, format=suffix))
    except BrainAlignError as error:
        _fail(error)
    console.print(f"wrote {output}")


def _read_results_csv(path: Path) -> pd.DataFrame:
    """A results table from ``path``, or an error naming the file and what is wrong with it."""
    if not path.is_file():
        raise InvalidInputError(f"results file {path} does not exist or is not a regular file")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"results file {path} is not a CSV written by `brainalign score` ({error})") from None
    missing = [c for c in PLOT_COLUMNS if c not in table.columns]
    if missing or table.empty:
        raise InvalidInputError(f"results file {path} lacks the columns {missing or 'rows'}; expected a CSV written "
                                f"by `brainalign score` with columns {', '.join(PLOT_COLUMNS)}")
    for column in ("raw", "error", "ceiling_raw_units"):
        if not pd.api.types.is_numeric_dtype(table[column]):
            raise InvalidInputError(f"results file {path}: column {column!r} holds non-numbers")
    return table


@app.command()
def demo(output: Annotated[Path, typer.Option("--output", "-o")] = Path("demo_output")) -> None:
    """Score the three trained EfficientNet-Lite sizes and a random twin on the built-in benchmarks (real data)."""
    from brainalign.report.plots import plot_layer_scores

    csv, figure = output / "scores.csv", output / "scores.png"
    try:
        loaded, benches, store = _prepare_grid(list(DEMO_MODELS), list(DEMO_BENCHMARKS), None, None, [csv, figure],
                                               output / "results.sqlite")
        results = _scores_with_unique_warnings(loaded, benches, store=store)
        per_layer = (results.set_index(["benchmark", "units", "model", "layer"])["score"].unstack("layer")
                     .reindex(columns=list(dict.fromkeys(results["layer"]))))
        print_table(per_layer.reset_index(), title="score per layer (in the row's units)")
        best = results[results["best"]][["model", "weights", "benchmark", "layer", "units", "score", "raw", "ceiling",
                                         "normalised"]]
        print_table(best, title="best layer per model and benchmark")
        _save_csv(results, csv)
        write_output(figure, lambda tmp: plot_layer_scores(results, tmp, format="png"))
    except BrainAlignError as error:
        _fail(error)
    console.print(f"wrote {figure}")


if __name__ == "__main__":  # pragma: no cover
    app()
