"""Marques, Schrimpf & DiCarlo (2021): macaque V1 single-neuron property distributions (Brain-Score's V1 benchmarks).

Six property assemblies (neurons × properties) from five studies, as Brain-Score stores them in
``brain-score/brainio_collection``: Ringach2002 and FreemanZiemba2013 are per-neuron measurements; DeValois1982a/b,
Cavanaugh2002a and Schiller1976c were resampled by Brain-Score from the papers' histograms. Each property comes with
the bin edges its distribution is compared on (``attrs["bins"][property]``). The grating stimuli are generated from
the parameter tables (`brainalign.data.gratings`); the orientation set also ships as 864 images, which the generator
reproduces pixel for pixel.

Every file is checked against the sha256 listed in the folder's ``SHA256SUMS``, itself pinned by digest here.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.errors import UnknownNameError
from brainalign.data.fetch import RemoteFile
from brainalign.data.gratings import grating_stimulus_set
from brainalign.data.manifest import ManifestDataset
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet, extract_images

_URL = ("https://raw.githubusercontent.com/brain-score/brainio_collection/9222355c51e6a7025bce13525ca0210bb4ddf031/"
        "brainio_collection/")
# SHA256SUMS is the mirror's manifest (no public address of its own); its digest pins every other file's digest.
_SUMS = RemoteFile("SHA256SUMS", "", "cdc0b70b5d8f0f3abc234965e29cf1740ee6353670e11b186061adab92ce335a")

#: Property assembly file of each source study.
SOURCES: dict[str, str] = {
    "Ringach2002": "assy_shapley_Ringach2002.nc",
    "DeValois1982a": "assy_devalois_DeValois1982a.nc",
    "DeValois1982b": "assy_devalois_DeValois1982b.nc",
    "Cavanaugh2002a": "assy_movshon_Cavanaugh2002a.nc",
    "Schiller1976c": "assy_schiller_Schiller1976c.nc",
    "FreemanZiemba2013": "assy_movshon_FreemanZiemba2013_V1_properties.nc",
}
#: The grating stimulus sets (``image_dicarlo_Marques2020_<kind>.csv``).
GRATING_SETS = ("orientation", "spatial_frequency", "size", "receptive_field")
STIMULUS_DEGREES = 12.0
STIMULUS_PIXELS = 672


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bins(value: Any) -> np.ndarray:
    """Bin edges from an HDF5 attribute: an array, or its text form ``'[-1. -0.5 ...]'`` for long ones."""
    if isinstance(value, (str, bytes)):
        return np.array(_text(value).strip("[]").split(), dtype=float)
    return np.asarray(value, dtype=float)


@register_dataset
class Marques2020(ManifestDataset):
    """Macaque V1 property distributions: ``properties(source)`` is a neuroid × neuronal_property DataArray.

    >>> import os, pathlib
    >>> if (pathlib.Path(os.environ.get("BRAINALIGN_MIRROR", "/nonexistent")) / "marques2020").is_dir():
    ...     ringach = Marques2020().properties("Ringach2002")
    ...     assert ringach.shape == (304, 12) and len(ringach.attrs["bins"]["circular_variance"]) == 14
    """

    identifier = "Marques2020"
    folder = "marques2020"
    citation = ("Marques, Schrimpf & DiCarlo (2021). Multi-scale hierarchical neural network models that bridge from "
                "single neurons in the primate primary visual cortex to object recognition behavior. bioRxiv "
                "2021.03.01.433495. Data: Ringach, Shapley & Hawken (2002) J Neurosci 22:5639; Freeman, Ziemba et al. "
                "(2013) Nat Neurosci 16:974; Cavanaugh, Bair & Movshon (2002) J Neurophysiol 88:2530; De Valois, Yund "
                "& Hepler (1982) Vision Res 22:531; De Valois, Albrecht & Thorell (1982) Vision Res 22:545; Schiller, "
                "Finlay & Volman (1976) J Neurophysiol 39:1334.")
    license = "MIT (brain-score/brainio_collection)"
    species = "macaque"
    modality = "spikes"
    regions = ("V1",)
    visual_degrees = STIMULUS_DEGREES
    sources = tuple(SOURCES)

    manifest = _SUMS

    def file_url(self, path: str) -> str:
        """The public address of ``path`` in brainio_collection at the pinned commit."""
        return _URL + path

    def properties(self, source: str) -> xr.DataArray:
        """The neurons' properties measured in ``source`` (see `SOURCES`), neuroid × neuronal_property.

        ``attrs``: ``bins`` (property → bin edges of its distribution), ``number_of_trials``, ``source``.
        """
        if source not in SOURCES:
            raise UnknownNameError("Marques2020 source", source, SOURCES)
        with h5py.File(self._fetch(SOURCES[source]), "r") as h5:
            name = next(key for key in h5 if "." in key)
            data = h5[name]
            names = [_text(p) for p in h5["neuronal_property_"][:]]
            bins = {p: _bins(data.attrs[f"{p}_bins"]) for p in names}
            return xr.DataArray(
                np.asarray(data[:], dtype=float), dims=("neuroid", "neuronal_property"),
                coords={"neuroid_id": ("neuroid", h5["neuroid_id"][:]),
                        "region": ("neuroid", [_text(r) for r in h5["region"][:]]),
                        "neuronal_property": names},
                attrs={"bins": bins, "number_of_trials": int(np.ravel(data.attrs["number_of_trials"])[0]),
                       "source": source}, name=name)

    def grating_parameters(self, kind: str) -> pd.DataFrame:
        """The parameter table of one grating set (`GRATING_SETS`), one row per stimulus in Brain-Score's order."""
        self._check_selection({"kind": kind}, {"kind": GRATING_SETS})
        return pd.read_csv(self._fetch(f"image_dicarlo_Marques2020_{kind}.csv"))

    def stimulus_set(self, kind: str = "orientation", **selection: Any) -> StimulusSet:
        """A grating set at the experiment's 12 degrees and 672 pixels: the published images for ``orientation``
        (ids ``Marques2020.orientation/<row>``), generated from the parameters for the other sets."""
        self._check_selection({"kind": kind, **selection}, {"kind": GRATING_SETS})
        parameters = self.grating_parameters(kind)
        identifier = f"{self.identifier}.{kind}"
        if kind != "orientation":
            return grating_stimulus_set(parameters, identifier, STIMULUS_PIXELS, STIMULUS_DEGREES)
        archive = f"image_dicarlo_Marques2020_{kind}.zip"
        by_name = {p.name: p for p in extract_images(self._fetch(archive), self._image_dir(archive))}
        return StimulusSet(identifier, [f"{identifier}/{i}" for i in range(len(parameters))],
                           paths=[by_name[name] for name in parameters["filename"]], metadata=parameters)
