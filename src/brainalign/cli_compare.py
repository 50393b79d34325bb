"""``brainalign compare``: paired bootstrap comparison of models or layers on one encoding benchmark.

Candidates are ``--model`` × ``--layer`` (default: each model's default layers) and, with ``--store``, the best
stored layer of every model scored on the benchmark there. Prints one row per pair: both scores, their
difference with its confidence interval, the p-value and the p-value corrected over all pairs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from brainalign.core.errors import BrainAlignError, InvalidInputError

app = typer.Typer(help="Compare models or layers on one benchmark (paired bootstrap, corrected p-values).")

COLUMNS = ["model_a", "model_b", "score_a", "score_b", "difference", "ci_low", "ci_high", "p_value", "p_adjusted"]


def stored_best_layers(store: Path, benchmark: str) -> list[tuple[str, str]]:
    """(model, best layer) of every model with a finite score on ``benchmark`` in the results ``store``.

    >>> import tempfile
    >>> from brainalign.store.results import ResultsStore
    >>> path = Path(tempfile.mkdtemp()) / "results.sqlite"
    >>> rows = [("m", "l1", 0.2), ("m", "l2", 0.5), ("n", "l1", float("nan"))]
    >>> for model, layer, score in rows:
    ...     ResultsStore(path).put({"model": model, "weights_checksum": "c", "layer": layer, "benchmark": "b",
    ...                             "benchmark_version": 1, "metric_options": "{}", "brainalign_version": "0",
    ...                             "score": score})
    >>> stored_best_layers(path, "b")
    [('m', 'l2')]
    """
    from brainalign.store.results import ResultsStore

    if not store.is_file():
        raise InvalidInputError(f"--store {store} is not a results file")
    table = ResultsStore(store).table()
    if table.empty or "benchmark" not in table:
        return []
    rows = table[table["benchmark"] == benchmark].dropna(subset=["score"])
    best = rows.loc[rows.groupby("model", sort=False)["score"].idxmax()]
    return list(zip(best["model"], best["layer"], strict=True))


@app.callback(invoke_without_command=True)
def compare(
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="One encoding benchmark identifier.")],
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Model(s) to compare.")] = None,
    layer: Annotated[list[str] | None, typer.Option("--layer", "-l", help="Layer(s) of every model; default: "
                                                    "each model's default layers.")] = None,
    store: Annotated[Path | None, typer.Option(help="Also compare each model's best stored layer on the "
                                               "benchmark in this results file.")] = None,
    n_samples: Annotated[int, typer.Option(min=10, help="Bootstrap samples.")] = 1000,
    ci: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level of the difference.")] = 0.95,
    correction: Annotated[str, typer.Option(help="Correction over pairs: fdr_bh, bonferroni or none.")] = "fdr_bh",
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap draws.")] = 0,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the table as CSV.")] = None,
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 32,
    device: Annotated[str | None, typer.Option(envvar="BRAINALIGN_DEVICE", help="cpu, cuda, mps.")] = None,
) -> None:
    """Which model or layer scores higher on the benchmark, and is the difference more than chance?"""
    from brainalign.cli import console, print_table, write_output
    from brainalign.runner.compare import candidates
    from brainalign.runner.compare import compare as compare_pairs

    try:
        pairs: list[tuple[str, str | None]] = candidates(model or [], layer or [None])
        if store is not None:
            pairs += [pair for pair in stored_best_layers(store, benchmark) if pair not in pairs]
        table = compare_pairs(pairs, benchmark, n_samples=n_samples, ci=ci, correction=correction, seed=seed,
                              batch_size=batch_size, device=device)
    except BrainAlignError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None
    print_table(table[COLUMNS], title=f"{benchmark}: paired bootstrap over test stimuli ({n_samples} samples), "
                f"difference = score_a - score_b, {ci:.0%} CI, p corrected by {correction}")
    if output is not None:
        write_output(output, lambda tmp: pd.DataFrame(table).to_csv(tmp, index=False))
        console.print(f"wrote {output}")
