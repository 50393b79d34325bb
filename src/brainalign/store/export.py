"""Results tables out of a store: CSV, Parquet (needs ``pyarrow``), pandas and xarray.

>>> import pandas as pd
>>> table = pd.DataFrame({"model": ["m", "m"], "benchmark": ["b", "b"], "layer": ["l1", "l2"], "score": [0.1, 0.4]})
>>> to_xarray(table)["score"].sel(layer="l2").item()
0.4
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import atomic_path
from brainalign.store.results import ResultsStore

FORMATS = (".csv", ".parquet")
CELL = ["model", "benchmark", "layer"]
NUMERIC = ("score", "raw", "ceiling", "error", "ci_low", "ci_high", "p_value")


def results_table(source: ResultsStore | pd.DataFrame) -> pd.DataFrame:
    """A pandas table of ``source`` (a store's rows, oldest first, or a table as is)."""
    return source.table() if isinstance(source, ResultsStore) else source


def export_table(source: ResultsStore | pd.DataFrame, path: str | Path) -> Path:
    """Write the rows of ``source`` to ``path`` as CSV or Parquet (by its suffix), atomically.

    Parquet needs ``pyarrow``; without it the error says so instead of writing something else.
    """
    path = Path(path)
    if path.suffix not in FORMATS:
        raise InvalidInputError(f"cannot export results to {path}: suffix {path.suffix!r} is not one of {FORMATS}")
    if path.suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise InvalidInputError(f"exporting {path} as Parquet needs pyarrow (pip install pyarrow); "
                                "or export to .csv")
    table = results_table(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False, engine="pyarrow")
    return path


def to_xarray(source: ResultsStore | pd.DataFrame) -> xr.Dataset:
    """The numeric columns (score, raw, ceiling, error, ...) as arrays over (model, benchmark, layer).

    A cell stored more than once (other weights, versions or options) keeps its latest row; cells a model lacks
    (layers of another model) are NaN.
    """
    table = results_table(source)
    missing = [c for c in CELL if c not in table.columns]
    if missing:
        raise InvalidInputError(f"a results table needs the columns {CELL} for xarray; missing {missing}")
    latest = table.drop_duplicates(CELL, keep="last").set_index(CELL)
    columns = [c for c in NUMERIC if c in latest.columns]
    return xr.Dataset.from_dataframe(latest[columns].astype(float))
