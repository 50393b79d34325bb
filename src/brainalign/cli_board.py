"""`brainalign leaderboard`, `serve` and `composite`: the static leaderboard site and composite scores.

>>> from typer.testing import CliRunner
>>> "--store" in CliRunner().invoke(app, ["leaderboard", "--help"]).output
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from brainalign.core.errors import BrainAlignError, InvalidInputError

app = typer.Typer()


def _fail(error: BrainAlignError) -> None:
    from brainalign.cli import _fail as fail

    fail(error)


@app.command()
def leaderboard(
    store: Annotated[Path, typer.Option(help="Results store (SQLite, --store of `brainalign score`) or results CSV.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder of the site.")] = Path("site"),
    composite: Annotated[list[str] | None, typer.Option("--composite", "-c", help="Composite(s) to show (default: "
                                                        "every registered one with a scored member).")] = None,
    title: Annotated[str, typer.Option(help="Page title.")] = "brainalign leaderboard",
) -> None:
    """Write a static leaderboard site: models × benchmarks and composites, a page per model (works offline)."""
    from brainalign.cli import console
    from brainalign.report.leaderboard import build_site, load_results

    try:
        site = build_site(load_results(store), out, composites=composite, title=title)
    except BrainAlignError as error:
        _fail(error)
    console.print(f"wrote {site / 'index.html'} (open it, or `brainalign serve {site}`)")


@app.command()
def serve(
    site: Annotated[Path, typer.Argument(help="A folder written by `brainalign leaderboard`.")] = Path("site"),
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve a leaderboard site over HTTP until interrupted (Ctrl-C)."""
    from brainalign.cli import console
    from brainalign.report.leaderboard import serve as make_server

    try:
        try:
            server = make_server(site, port, host)
        except OSError as error:  # port taken, address not local
            raise InvalidInputError(f"cannot listen on {host}:{port} ({error}); choose another --port") from None
    except BrainAlignError as error:
        _fail(error)
    console.print(f"serving {site} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command("composite")
def composite_command(
    results: Annotated[Path, typer.Argument(help="Results store (SQLite) or results CSV.")],
    name: Annotated[list[str], typer.Option("--composite", "-c", help="Composite name(s), e.g. vision.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the composite table as CSV.")] = None,
) -> None:
    """Composite scores (region means of best-layer scores, overall mean of regions) from stored results."""
    from brainalign.benchmarks.composite import get_composite
    from brainalign.cli import write_output
    from brainalign.report.leaderboard import load_results

    try:
        for composite in name:
            get_composite(composite)  # an unknown name: the error lists the valid ones
        table = report_composites(load_results(results), name)
        if output is not None:
            write_output(output, lambda tmp: table.to_csv(tmp, index=False))
    except BrainAlignError as error:
        _fail(error)


def report_composites(results: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Print (and return) the composites among ``names`` computed from ``results``; nothing when there is none."""
    from brainalign.benchmarks.composite import COMPOSITES, composite_scores
    from brainalign.cli import print_table

    wanted = [n for n in names if n in COMPOSITES.names()]
    tables = [composite_scores(results, n) for n in wanted]
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    print_table(table.drop(columns="composition"),
                title="composites: mean over each region's benchmarks of the best layer's score; overall: mean "
                      "of regions")
    return table
