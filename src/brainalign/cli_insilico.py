"""`brainalign insilico`: list, describe, fit and run the catalog's fitted encoders.

>>> from typer.testing import CliRunner
>>> "Cowley2023.V4.210325-efficientnet_lite0" in CliRunner().invoke(app, ["list"]).output
True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from brainalign.core.errors import BrainAlignError
from brainalign.core.storage import atomic_path

app = typer.Typer(help="In-silico neuroscience: fitted encoders that generate brain responses.", no_args_is_help=True)
console = Console()


def _fail(error: BrainAlignError) -> None:
    console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(code=2)


@app.command("list")
def list_encoders() -> None:
    """List the catalog's encoders (model, layers, dataset, region, session, fitted here or not)."""
    from brainalign.insilico.catalog import ENCODERS, local_path

    table = Table("name", "model", "layers", "dataset", "region", "session", "fitted")
    for name, entry in ENCODERS.items():
        table.add_row(name, entry.model, ",".join(entry.layers), entry.dataset, entry.region, entry.session or "",
                      "yes" if local_path(name).is_file() else "no")
    Console(width=200).print(table)


@app.command()
def describe(name: str,
             plot: Annotated[Path | None, typer.Option(help="Also write the accuracy figure (png/pdf/svg); "
                                                             "the encoder must be fitted here.")] = None) -> None:
    """Print an encoder's model card as JSON (and its held-out accuracy figure with --plot)."""
    from brainalign.insilico.catalog import describe as card_of
    from brainalign.insilico.catalog import load_encoder

    try:
        typer.echo(json.dumps(card_of(name), indent=2))
        if plot is not None:
            import matplotlib

            matplotlib.use("Agg")
            from brainalign.insilico.card_plot import plot_accuracy

            figure = plot_accuracy(load_encoder(name)).figure
            with atomic_path(plot) as tmp:
                figure.savefig(tmp, format=plot.suffix.lstrip(".") or "png", bbox_inches="tight")
            typer.echo(f"wrote {plot}")
    except BrainAlignError as error:
        _fail(error)


@app.command()
def fit(name: str, batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 32) -> None:
    """Fit a catalog encoder on its dataset and save it in the cache."""
    from brainalign.insilico.catalog import fit_encoder, local_path

    try:
        encoder = fit_encoder(name, batch_size=batch_size)
    except BrainAlignError as error:
        _fail(error)
    card = encoder.model_card()
    typer.echo(f"saved {local_path(name)}; median held-out r = {card['median_r']:.3f}")


@app.command()
def generate(
    name: str,
    stimuli: Annotated[Path, typer.Argument(help="A folder of images.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV file: one row per stimulus (per stimulus "
                                                                   "and time bin for time-resolved encoders).")],
    neuroid: Annotated[list[str] | None, typer.Option(help="Neuroid id(s) to keep (default: all).")] = None,
    region: Annotated[str | None, typer.Option(help="Keep only this region's neuroids.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Images per forward pass.")] = None,
) -> None:
    """Generate in-silico responses of encoder NAME to the images in STIMULI and write them as CSV."""
    from brainalign.data.stimuli import StimulusSet
    from brainalign.insilico.catalog import load_encoder

    try:
        responses = load_encoder(name).generate(StimulusSet.from_folder(stimuli), neuroids=neuroid, region=region,
                                                batch_size=batch_size)
    except BrainAlignError as error:
        _fail(error)
    columns = responses["neuroid_id"].values if "neuroid_id" in responses.coords else None
    if "time" in responses.dims:
        long = responses.transpose("stimulus", "time", "neuroid")
        index = pd.MultiIndex.from_product([responses["stimulus_id"].values, responses["time"].values],
                                           names=["stimulus_id", "time"])
        table = pd.DataFrame(long.values.reshape(-1, long.sizes["neuroid"]), index=index, columns=columns)
    else:
        table = pd.DataFrame(responses.values, index=pd.Index(responses["stimulus_id"].values, name="stimulus_id"),
                             columns=columns)
    with atomic_path(output) as tmp:
        table.to_csv(tmp)
    typer.echo(f"wrote {responses.sizes['stimulus']} stimuli × {table.shape[1]} neuroids to {output}")
