"""Readers of published behavioural trial files into the tables the behavioural metrics take.

* Brain-Score's Rajalingham2018 assembly (a BrainIO ``BehavioralAssembly`` stored as netCDF-4): values = the chosen
  object of each trial along ``presentation``, with the coordinates ``stimulus_id`` (``image_id`` in older files),
  ``sample_obj`` (the true object; or ``truth``) and ``dist_obj`` → `i2n` trials.
* THINGS odd-one-out triplets (Hebart et al. 2020, 2023): one trial per row, three 0-based THINGS object indices;
  the derived train / test files put the odd one out last (``odd_column=2``), the 2020 test file
  ``data1854_batch5_test10.txt`` first (``odd_column=0``) → `odd_one_out` triplets with the odd one's position.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.errors import InvalidInputError

_ASSEMBLY_COORDS = {"stimulus_id": ("stimulus_id", "image_id"), "truth": ("truth", "sample_obj"),
                    "distractor": ("dist_obj",)}


def read_brainscore_trials(path: str | os.PathLike) -> pd.DataFrame:
    """Trials (``stimulus_id, truth, distractor, choice`` plus every other presentation coordinate) of a
    Brain-Score match-to-sample assembly file (netCDF, e.g. ``assy_dicarlo_Rajalingham2018_public.nc``)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"assembly file {path} does not exist")
    with xr.open_dataset(path, engine="h5netcdf") as dataset:
        variables = list(dataset.data_vars)
        presentation = [v for v in variables if dataset[v].dims == ("presentation",)]
        if "presentation" not in dataset.dims or not presentation:
            raise InvalidInputError(f"{path} is not a behavioural assembly: no data along 'presentation' "
                                    f"(variables {variables}, dims {dict(dataset.sizes)})")
        table = dataset.reset_coords().to_dataframe().reset_index(drop=True)
    choice = next((v for v in presentation if v not in ("choice", "correct")), presentation[0])
    columns: dict[str, str] = {}
    for name, candidates in _ASSEMBLY_COORDS.items():
        found = next((c for c in candidates if c in table.columns), None)
        if found is None:
            raise InvalidInputError(f"{path} lacks a {name} coordinate ({' or '.join(candidates)}); it has "
                                    f"{', '.join(map(str, table.columns))}")
        columns[name] = found
    trials = pd.DataFrame({name: _text(table[column]) for name, column in columns.items()})
    trials["choice"] = _text(table["choice"] if "choice" in table.columns else table[choice])
    rest = table.drop(columns=[*columns.values(), choice, "choice"], errors="ignore")
    return pd.concat([trials, rest.reset_index(drop=True)], axis=1)


def read_things_triplets(path: str | os.PathLike, odd_column: int = 2) -> pd.DataFrame:
    """THINGS triplets as columns ``object_0, object_1, object_2`` (0-based indices) and ``odd`` (which column the
    subject chose as the odd one out: 0, 1 or 2, from the file's ``odd_column``).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "testset.txt"; _ = path.write_text("4 7 1\\n2 3 9\\n")
    >>> read_things_triplets(path).values.tolist()
    [[4, 7, 1, 2], [2, 3, 9, 2]]
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"triplet file {path} does not exist")
    if odd_column not in (0, 1, 2):
        raise InvalidInputError(f"odd_column must be 0, 1 or 2; got {odd_column!r}")
    try:
        values = np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None, dtype=float, ndmin=2)
    except ValueError as error:
        raise InvalidInputError(f"{path}: not rows of three object indices ({error})") from None
    if values.shape[1] != 3 or (values != np.round(values)).any() or (values < 0).any():
        raise InvalidInputError(f"{path}: need rows of three non-negative integer object indices; got shape "
                                f"{values.shape}")
    triplets = pd.DataFrame(values.astype(int), columns=["object_0", "object_1", "object_2"])
    return triplets.assign(odd=odd_column)


def _text(values: pd.Series) -> pd.Series:
    """Strings from netCDF text (bytes or str)."""
    return values.map(lambda v: v.decode() if isinstance(v, bytes) else str(v))
