"""`Dataset`: the base class of a loader for one published experiment (stimuli, measured data, files).

Loaders subclass it and register with ``brainalign.data.registry.register_dataset``; this module imports no
loader and no registry, so loaders, the registry and users can all import it without a cycle.

>>> class Empty(Dataset):
...     identifier, folder, regions = "Empty", "empty", ("V1",)
>>> Empty().rdms("V2")
Traceback (most recent call last):
...
brainalign.core.errors.UnknownNameError: unknown region 'V2'; valid: V1
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import xarray as xr

from brainalign.core.config import cache_dir
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.fetch import RemoteFile, checksum_kind, fetch, file_digest_once, local_copy
from brainalign.data.rdm import RDM
from brainalign.data.stimuli import StimulusSet


class Dataset:
    """A published experiment: its stimuli, its measured data per region, and where every file comes from.

    Subclasses set the class attributes and override :meth:`stimulus_set` plus :meth:`rdms` and/or
    :meth:`responses`. ``folder`` names the dataset's directory in a mirror and in the cache; ``modality`` is the
    recording modality (``fMRI``, ``spikes``, ``behavior``, ...).
    """

    identifier: ClassVar[str]
    folder: ClassVar[str]
    citation: ClassVar[str]
    license: ClassVar[str]
    species: ClassVar[str]
    modality: ClassVar[str]
    regions: ClassVar[tuple[str, ...]]
    visual_degrees: ClassVar[float | None] = None
    files: ClassVar[tuple[RemoteFile, ...]] = ()

    @staticmethod
    def from_arrays(stimuli: Any, responses: Any = None, **options: Any) -> Dataset:
        """Your own data as a dataset: `brainalign.data.user.from_arrays` (stimuli plus responses and/or RDMs)."""
        from brainalign.data.user import from_arrays

        return from_arrays(stimuli, responses, **options)

    @staticmethod
    def from_folder(stimuli: str | os.PathLike, responses: str | os.PathLike, **options: Any) -> Dataset:
        """Your own data as a dataset: `brainalign.data.user.from_folder` (a stimulus folder and a responses file)."""
        from brainalign.data.user import from_folder

        return from_folder(stimuli, responses, **options)

    def stimulus_set(self, **selection: Any) -> StimulusSet:
        """The stimuli, in the order of the measured data."""
        raise InvalidInputError(f"dataset {self.identifier!r} has no stimulus set")

    def rdms(self, region: str) -> RDM:
        """The measured RDMs of ``region`` (one per subject / session, described in ``RDM.descriptors``)."""
        self._check_region(region)
        raise InvalidInputError(
            f"dataset {self.identifier!r} provides responses, not RDMs; use responses({region!r}) and compute RDMs"
        )

    def responses(self, region: str, **selection: Any) -> xr.DataArray:
        """The measured `Responses` of ``region`` (stimulus × neuroid [× repetition])."""
        self._check_region(region)
        raise InvalidInputError(
            f"dataset {self.identifier!r} provides only RDMs, not per-neuroid responses; use rdms({region!r})"
        )

    def info(self) -> dict[str, Any]:
        """The dataset's description as a flat dict (one row of ``brainalign list datasets``; provenance)."""
        return {
            "identifier": self.identifier,
            "citation": self.citation,
            "license": self.license,
            "species": self.species,
            "modality": self.modality,
            "regions": list(self.regions),
            "visual_degrees": self.visual_degrees,
            "n_files": len(self.files),
        }

    def file_status(self) -> pd.DataFrame:
        """One row per file: ``path``, ``url``, ``checksum`` (how it is verified), ``manual`` (handed out by a
        page, never downloaded) and ``local`` (the unverified copy fetching would use, or ``""``). Lists only:
        nothing is downloaded or hashed."""
        return pd.DataFrame([{"path": f.path, "url": f.url, "checksum": checksum_kind(self.folder, f),
                              "manual": f.manual, "local": str(local_copy(self.folder, f) or "")} for f in self.files],
                            columns=["path", "url", "checksum", "manual", "local"])

    def download(self) -> list[Path]:
        """Fetch (and verify) every file of the dataset; returns their local paths."""
        return [fetch(self.folder, remote) for remote in self.files]

    def _fetch(self, path: str) -> Path:
        """The verified local copy of the dataset file whose ``RemoteFile.path`` is ``path``."""
        for remote in self.files:
            if remote.path == path:
                return fetch(self.folder, remote)
        raise UnknownNameError(f"{self.identifier} file", path, [f.path for f in self.files])

    def _check_selection(self, selection: Mapping[str, Any], choices: Mapping[str, Iterable[str]]) -> None:
        """Raise unless every ``selection`` key is one of ``choices`` and its value one of that key's choices."""
        for key, value in selection.items():
            if key not in choices:
                raise UnknownNameError(f"{self.identifier} selection key", key, choices)
            if str(value) not in set(map(str, choices[key])):
                raise UnknownNameError(f"{self.identifier} {key}", str(value), map(str, choices[key]))

    def _check_region(self, region: str) -> None:
        if region not in self.regions:
            raise UnknownNameError("region", region, self.regions)

    def _image_dir(self, source_path: str) -> Path:
        """The cache folder for images decoded from dataset file ``source_path``, keyed by its sha256."""
        digest = file_digest_once(self._fetch(source_path))
        return cache_dir("data", self.folder, "stimuli", f"{Path(source_path).stem}-{digest[:12]}")
