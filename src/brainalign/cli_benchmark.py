"""`brainalign benchmark create`: a benchmark file from your stimulus folder and responses file.

>>> import tempfile, pathlib, numpy as np
>>> from PIL import Image
>>> from typer.testing import CliRunner
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> (folder / "img").mkdir()
>>> for i in range(4):
...     Image.new("RGB", (4, 4), (50 * i, 0, 0)).save(folder / "img" / f"{i}.png")
>>> np.save(folder / "resp.npy", np.arange(8.0).reshape(4, 2))
>>> args = ["create", "--stimuli", str(folder / "img"), "--responses", str(folder / "resp.npy"), "--region", "IT",
...         "-o", str(folder / "mine.toml")]
>>> result = CliRunner().invoke(app, args)
>>> result.exit_code, "brainalign score -m MODEL -b" in result.output
(0, True)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from brainalign.core.errors import BrainAlignError, InvalidInputError

app = typer.Typer(help="Make benchmarks from your own data.", no_args_is_help=True)
console = Console()


@app.callback()
def benchmark() -> None:
    """Make benchmarks from your own data."""


@app.command("create")
def create(
    stimuli: Annotated[Path, typer.Option("--stimuli", help="Folder of stimulus images or videos (natural file order), "
                                                      "or a .txt file of texts (one per line).")],
    responses: Annotated[Path, typer.Option("--responses", help="Responses: .npy (stimulus x neuroid [x repetition]),"
                                            " .npz (responses / rdms, region, subject) or .nc (labelled).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The benchmark file to write (.toml).")],
    metric: Annotated[str, typer.Option("--metric", help="A registered metric, e.g. ridge, pls, rsa.")] = "ridge",
    region: Annotated[str, typer.Option("--region", help="The region to score (its name in the data).")] = "brain",
    ceiling: Annotated[str | None, typer.Option("--ceiling", help="split-half (needs repetitions) or none.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Benchmark name (default: the file's stem).")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", help="Metric option KEY=VALUE (value as JSON, "
                                                     "e.g. n_splits=10).")] = None,
) -> None:
    """Write a benchmark file (data paths + sha256 + metric + options) that `brainalign score -b FILE` accepts."""
    from brainalign.benchmarks.user import load_benchmark_file, write_benchmark_file

    try:
        options = dict(_option(o) for o in option or [])
        path = write_benchmark_file(output, stimuli, responses, metric=metric, region=region,
                                    ceiling=None if ceiling in (None, "none") else ceiling, name=name,
                                    options=options)
        benchmark = load_benchmark_file(path)
    except BrainAlignError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None
    console.print(f"wrote {path} ({benchmark.identifier}, {len(benchmark.stimulus_set())} stimuli); "
                  f"score with: brainalign score -m MODEL -b {path}", soft_wrap=True)


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InvalidInputError(f"--option {text!r} is not KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
