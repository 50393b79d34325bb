"""Brain-Score's BrainIO files as brainalign objects, and back: NetCDF data assemblies ↔ `Responses`, stimulus
set CSV + ZIP ↔ `StimulusSet` (BrainIO files are fetched by `brainalign.data.fetch`, checked by SHA-1).

A BrainIO data assembly is a netCDF-4 file with one data variable over ``presentation × neuroid`` (× ``time_bin``):
one presentation per trial, labelled by ``stimulus_id`` (``image_id`` in older files) and ``repetition``; neuroid
labels (``neuroid_id``, ``region``, ...) and time-bin labels (``time_bin_start``, ``time_bin_end``) are
coordinates on their dims; global attributes ``identifier`` and ``stimulus_set_identifier``. A stimulus set is a
CSV (one row per stimulus: ``stimulus_id``/``image_id``, ``filename`` = its path in the ZIP, metadata columns)
and a ZIP of the files. Our `Responses` are ``stimulus × neuroid [× repetition] [× time]``; conversion pivots
trials into repetitions (NaN where a stimulus had fewer) and back (all-NaN trials are not written).

>>> import tempfile, pathlib, numpy as np
>>> from brainalign.core.labels import make_responses
>>> trials = np.arange(12.0).reshape(2, 3, 2)
>>> responses = make_responses(trials, ["a", "b"], dims=("stimulus", "neuroid", "repetition"),
...                            neuroid_coords={"region": ["IT"] * 3})
>>> path = pathlib.Path(tempfile.mkdtemp()) / "assy.nc"
>>> _ = write_responses(responses, path, "demo.Assembly", "demo.stimuli")
>>> read_assembly(path).dims, read_responses(path).identical(responses.assign_attrs(
...     identifier="demo.Assembly", stimulus_set_identifier="demo.stimuli"))
(('presentation', 'neuroid'), True)
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, TIME, make_responses
from brainalign.core.storage import atomic_path
from brainalign.data.stimuli import StimulusSet, write_images

PRESENTATION, TIME_BIN = "presentation", "time_bin"
ID_COLUMNS = ("stimulus_id", "image_id")  # BrainIO's id column: current name first, then the legacy one


# --- data assemblies --------------------------------------------------------------------------------------------

def read_assembly(path: str | os.PathLike) -> xr.DataArray:
    """The data variable of a BrainIO netCDF assembly, loaded, with the file's global attributes.

    Multi-index levels are plain coordinates on their dims (as BrainIO writes them). A file with several data
    variables uses the one named by the ``identifier`` attribute.
    """
    with xr.open_dataset(path, engine="h5netcdf") as dataset:
        names = list(dataset.data_vars)
        if len(names) != 1:
            name = dataset.attrs.get("identifier")
            if name not in names:
                raise InvalidInputError(f"{os.fspath(path)} holds data variables {names} and no 'identifier' "
                                        "attribute naming one of them; a BrainIO assembly has one data variable")
            names = [name]
        assembly = dataset[names[0]].load()
        assembly.attrs = {**dataset.attrs, **assembly.attrs}
    assembly.attrs.pop("_NCProperties", None)
    return assembly


def write_assembly(assembly: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write ``assembly`` (named; plain coordinates) as a BrainIO netCDF-4 file, atomically."""
    if not assembly.name:
        raise InvalidInputError("a BrainIO assembly needs a name (its identifier): assembly.rename('lab.Name')")
    target = Path(path)
    with atomic_path(target) as tmp:
        assembly.to_netcdf(tmp, engine="h5netcdf")
    return target


def assembly_to_responses(assembly: xr.DataArray) -> xr.DataArray:
    """`Responses` (``stimulus × neuroid [× repetition] [× time]``) from a BrainIO assembly.

    Stimuli keep the order of their first presentation; a trial goes to the repetition slot given by its
    ``repetition`` coordinate (else its rank among the stimulus' presentations). The repetition dim is kept when
    the assembly has a ``repetition`` coordinate or shows a stimulus more than once. Presentation coordinates that
    are constant within each stimulus become stimulus coordinates; ``time_bin`` becomes ``time``.
    """
    assembly = assembly.reset_index(list(assembly.indexes)) if assembly.indexes else assembly
    if PRESENTATION not in assembly.dims or NEUROID not in assembly.dims or not set(assembly.dims) <= {
            PRESENTATION, NEUROID, TIME_BIN}:
        raise InvalidInputError(f"a BrainIO neural assembly has dims ('{PRESENTATION}', '{NEUROID}'[, "
                                f"'{TIME_BIN}']) in any order; got {assembly.dims}")
    id_name = next((c for c in ID_COLUMNS if c in assembly.coords), None)
    if id_name is None:
        raise InvalidInputError(f"assembly {assembly.name!r} has no stimulus id coordinate (one of {ID_COLUMNS}) "
                                f"on '{PRESENTATION}'; coordinates: {sorted(map(str, assembly.coords))}")
    trials = pd.DataFrame({"stimulus": assembly[id_name].values.astype(str)})
    order = pd.unique(trials["stimulus"])
    trials["row"] = pd.Index(order).get_indexer(trials["stimulus"])
    has_repetition = REPETITION in assembly.coords
    if has_repetition:
        trials["slot"] = np.asarray(assembly[REPETITION].values, dtype=int)
        if (trials["slot"] < 0).any() or trials.duplicated(["row", "slot"]).any():
            raise InvalidInputError(f"assembly {assembly.name!r}: 'repetition' must be a non-negative index, "
                                    "unique within each stimulus")
    else:
        trials["slot"] = trials.groupby("row").cumcount()
    n_slots = int(trials["slot"].max()) + 1
    with_repetition = has_repetition or n_slots > 1
    time = [TIME_BIN] if TIME_BIN in assembly.dims else []
    values = assembly.transpose(PRESENTATION, NEUROID, *time).values
    pivoted = np.full((len(order), n_slots, *values.shape[1:]), np.nan, dtype=np.result_type(values, np.float32))
    pivoted[trials["row"].to_numpy(), trials["slot"].to_numpy()] = values
    pivoted = np.moveaxis(pivoted, 1, 2)  # stimulus, neuroid, repetition[, time]
    dims = [STIMULUS, NEUROID, REPETITION] + ([TIME] if time else [])
    if not with_repetition:
        pivoted, dims = pivoted[:, :, 0], [d for d in dims if d != REPETITION]
    first = trials.drop_duplicates("row").index.to_numpy()
    stimulus_coords = {}
    for name, coord in assembly.coords.items():
        if coord.dims != (PRESENTATION,) or name in (id_name, REPETITION):
            continue
        per_trial = pd.Series(coord.values)
        if (per_trial.groupby(trials["row"]).nunique(dropna=False) <= 1).all():
            stimulus_coords[name] = (STIMULUS, coord.values[first])
    responses = make_responses(pivoted, list(order), dims=dims,
                               neuroid_coords={n: c.values for n, c in assembly.coords.items() if c.dims == (NEUROID,)},
                               attrs=assembly.attrs)
    responses = responses.assign_coords(stimulus_coords)
    if time:
        responses = responses.assign_coords({n: (TIME, c.values) for n, c in assembly.coords.items()
                                             if c.dims == (TIME_BIN,)})
    return responses


def responses_to_assembly(responses: xr.DataArray, identifier: str, stimulus_set_identifier: str) -> xr.DataArray:
    """A BrainIO assembly (``presentation × neuroid [× time_bin]``, one presentation per non-empty trial) from
    `Responses`; stimulus coordinates are repeated per trial, ``time`` coordinates go to ``time_bin``."""
    if responses.dims[0] != STIMULUS or NEUROID not in responses.dims or not set(responses.dims) <= {
            STIMULUS, NEUROID, REPETITION, TIME}:
        raise InvalidInputError(f"expected Responses with dims ('{STIMULUS}', '{NEUROID}'[, '{REPETITION}'][, "
                                f"'{TIME}']); got {responses.dims}")
    time = [TIME] if TIME in responses.dims else []
    with_repetition = REPETITION in responses.dims
    values = responses.transpose(STIMULUS, *([REPETITION] if with_repetition else []), NEUROID, *time).values
    if not with_repetition:
        values = values[:, None]
    n_stimuli, n_slots = values.shape[:2]
    values = values.reshape(n_stimuli * n_slots, *values.shape[2:])
    stimulus_index = np.repeat(np.arange(n_stimuli), n_slots)
    slot = np.tile(np.arange(n_slots), n_stimuli)
    kept = ~np.isnan(values.reshape(len(values), -1)).all(axis=1)
    coords: dict[str, Any] = {
        name: (PRESENTATION, np.asarray(coord.values)[stimulus_index[kept]])
        for name, coord in responses.coords.items() if coord.dims == (STIMULUS,)
    }
    if with_repetition:
        coords[REPETITION] = (PRESENTATION, slot[kept])
    for name, coord in responses.coords.items():
        if coord.dims in ((NEUROID,), (TIME,)):
            coords[name] = (TIME_BIN if coord.dims == (TIME,) else NEUROID, coord.values)
    attrs = {**responses.attrs, "identifier": identifier, "stimulus_set_identifier": stimulus_set_identifier}
    return xr.DataArray(values[kept], dims=(PRESENTATION, NEUROID, *([TIME_BIN] if time else [])), coords=coords,
                        name=identifier, attrs=attrs)


def read_responses(path: str | os.PathLike) -> xr.DataArray:
    """`Responses` from a BrainIO netCDF assembly file (:func:`read_assembly` + :func:`assembly_to_responses`)."""
    return assembly_to_responses(read_assembly(path))


def write_responses(responses: xr.DataArray, path: str | os.PathLike, identifier: str,
                    stimulus_set_identifier: str) -> Path:
    """Write `Responses` as a BrainIO netCDF assembly that Brain-Score (and :func:`read_responses`) reads."""
    return write_assembly(responses_to_assembly(responses, identifier, stimulus_set_identifier), path)


# --- stimulus sets ----------------------------------------------------------------------------------------------

def read_stimulus_set(csv: str | os.PathLike, archive: str | os.PathLike, identifier: str, folder: Path,
                      stimulus_ids: Sequence[str] | None = None) -> StimulusSet:
    """A BrainIO stimulus set (CSV + ZIP): files extracted once into ``folder``, ids from the ``stimulus_id`` (or
    ``image_id``) column, the other columns as metadata; ``stimulus_ids`` orders (and subsets) the rows."""
    table = pd.read_csv(csv)
    id_column = next((c for c in ID_COLUMNS if c in table.columns), None)
    if id_column is None or "filename" not in table.columns:
        raise InvalidInputError(f"{os.fspath(csv)} is not a BrainIO stimulus set CSV: it needs a 'filename' column "
                                f"and one of {ID_COLUMNS}; columns: {list(table.columns)}")
    table[id_column] = table[id_column].astype(str)
    if stimulus_ids is not None:
        position = pd.Index(table[id_column])
        index = position.get_indexer([str(s) for s in stimulus_ids])
        if (index < 0).any():
            missing = [s for s, i in zip(stimulus_ids, index, strict=True) if i < 0]
            raise InvalidInputError(f"{len(missing)} stimulus ids are not in {os.fspath(csv)} (e.g. {missing[:3]})")
        table = table.iloc[index].reset_index(drop=True)
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        absent = [f for f in table["filename"] if f not in names]
        if absent:
            raise InvalidInputError(f"{len(absent)} files of {os.fspath(csv)} are not in {os.fspath(archive)} "
                                    f"(e.g. {absent[:3]})")
        paths = write_images(folder, [(name, lambda name=name: zf.read(name)) for name in table["filename"]])
    return StimulusSet(identifier, table[id_column].tolist(), paths=paths,
                       metadata=table.drop(columns=[id_column]))


def write_stimulus_set(stimuli: StimulusSet, csv: str | os.PathLike, archive: str | os.PathLike) -> tuple[Path, Path]:
    """Write a `StimulusSet` of files as a BrainIO stimulus set: a CSV (``stimulus_id``, ``filename`` = the file's
    name in the ZIP, then the metadata columns) and a ZIP of the files, both atomically.

    BrainIO column names are lowercase letters, digits and underscores; other metadata names are refused.
    """
    if stimuli.paths is None:
        raise InvalidInputError(f"stimulus set {stimuli.identifier!r} ({stimuli.modality}) has no files to write")
    names = [p.name for p in stimuli.paths]
    if len(set(names)) != len(names):
        names = [f"{i:06d}{p.suffix}" for i, p in enumerate(stimuli.paths)]
    metadata = stimuli.metadata.drop(columns=[c for c in ("stimulus_id", "filename") if c in stimuli.metadata])
    bad = [c for c in metadata.columns if not re.fullmatch(r"[a-z0-9_]+", str(c))]
    if bad:
        raise InvalidInputError(f"BrainIO column names are lowercase letters, digits and underscores; rename {bad}")
    table = pd.concat([pd.DataFrame({"stimulus_id": stimuli.stimulus_ids, "filename": names}), metadata], axis=1)
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(archive) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for path, name in zip(stimuli.paths, names, strict=True):
            zf.write(path, name)
    return Path(csv), Path(archive)

