"""`brainalign dataset files NAME` (where each file comes from, how it is checked, whether a copy is here) and
`brainalign dataset download NAME` (fetch and verify them all).

>>> from typer.testing import CliRunner
>>> result = CliRunner().invoke(app, ["files", "Kriegeskorte2008"])
>>> result.exit_code, "sha256 pinned" in result.output
(0, True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from brainalign.core.errors import BrainAlignError

app = typer.Typer(help="Where a dataset's files come from, and fetching them.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


@app.callback()
def dataset() -> None:
    """Where a dataset's files come from, and fetching them."""


@app.command("files")
def files(name: Annotated[str, typer.Argument(help="A dataset identifier (brainalign list datasets).")]) -> None:
    """Every file of dataset NAME: its address, how it is checked, and the local copy (nothing is downloaded)."""
    status = _or_exit(lambda: _dataset(name).file_status())
    table = Table(title=f"{name}: {len(status)} files, {int((status['local'] != '').sum())} here")
    for column in status.columns:
        table.add_column(column, overflow="fold")
    for row in status.itertuples(index=False):
        table.add_row(*(str(value) if value != "" else "[yellow]missing[/yellow]" for value in row))
    console.print(table)
    manual = status[status["manual"] & (status["local"] == "")]
    if len(manual):
        console.print(f"{len(manual)} files are handed out by a page, never downloaded: get them from "
                      f"{', '.join(dict.fromkeys(manual['url']))} and put them under a folder "
                      f"{_dataset(name).folder}/ of BRAINALIGN_MIRROR (paths as listed)")


@app.command("download")
def download(name: Annotated[str, typer.Argument(help="A dataset identifier (brainalign list datasets).")]) -> None:
    """Fetch every file of dataset NAME into the cache (mirror copies are used as they are) and verify it."""
    paths = _or_exit(lambda: _dataset(name).download())
    console.print(f"{name}: {len(paths)} files verified")


def _dataset(name: str) -> Any:
    from brainalign.data.registry import get_dataset

    return get_dataset(name)


def _or_exit(work: Callable[[], T]) -> T:
    """``work()``, or its error printed and exit code 2."""
    try:
        return work()
    except BrainAlignError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None
