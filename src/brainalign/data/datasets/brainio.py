"""Brain-Score's public neural data from the BrainIO catalog: MajajHong2015 (macaque V4 / IT, multi-unit firing
rates to the HvM objects) and FreemanZiemba2013 (macaque V1 / V2, textures and noise).

Each dataset is one netCDF assembly plus its stimulus set (CSV + ZIP) on BrainIO's public S3 buckets, checked by
the SHA-1 of the BrainIO catalog (``lookup.csv``) and read with `brainalign.data.interop.brainscore`. Responses
are averaged over the time bins inside ``time_window`` (ms after onset, as Brain-Score's benchmarks do) and keep
their repetitions (stimulus × neuroid × repetition) for the internal-consistency ceiling.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, TIME
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile
from brainalign.data.interop.brainscore import read_responses, read_stimulus_set
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet

DICARLO = "https://brainio.dicarlo.s3.amazonaws.com/"
CONTRIB = "https://brainio.contrib.s3.amazonaws.com/"


class BrainIODataset(Dataset):
    """A dataset made of one BrainIO assembly (``assembly``) and its stimulus set (``stimuli_csv``,
    ``stimuli_zip``); ``files`` list them with the SHA-1 BrainIO's catalog publishes."""

    assembly: ClassVar[str]
    stimuli_csv: ClassVar[str]
    stimuli_zip: ClassVar[str]
    time_window: ClassVar[tuple[float, float] | None]  # None: keep every time bin (stimulus × … × time)

    def stimulus_set(self, **selection: Any) -> StimulusSet:
        """The stimuli of the assembly, in the order of :meth:`responses` (ids: BrainIO's ``stimulus_id``)."""
        self._check_selection(selection, {})
        ids = self._responses_all["stimulus_id"].values.tolist()
        return read_stimulus_set(self._fetch(self.stimuli_csv), self._fetch(self.stimuli_zip), self.identifier,
                                 self._image_dir(self.stimuli_zip), stimulus_ids=ids)

    def responses(self, region: str, **selection: Any) -> xr.DataArray:
        """stimulus × neuroid × repetition responses of ``region``, averaged over ``time_window``."""
        self._check_region(region)
        self._check_selection(selection, {})
        responses = self._responses_all
        return responses.isel({NEUROID: np.flatnonzero(responses["region"].values == region)}).assign_attrs(
            dataset=self.identifier, region=region)

    @cached_property
    def _responses_all(self) -> xr.DataArray:
        return average_time_window(read_responses(self._fetch(self.assembly)), self.time_window)


def average_time_window(responses: xr.DataArray, window: tuple[float, float] | None) -> xr.DataArray:
    """Mean over the time bins lying inside ``window`` (``time_bin_start >= start`` and ``time_bin_end <= end``);
    responses without a time dim, or ``window=None``, are returned as they are.

    >>> from brainalign.core.labels import make_responses
    >>> r = make_responses(np.arange(6.0).reshape(1, 1, 6), ["a"], dims=("stimulus", "neuroid", "time"))
    >>> r = r.assign_coords(time_bin_start=("time", [0, 10, 20, 30, 40, 50]), time_bin_end=("time", [10, 20, 30,
    ...                     40, 50, 60]))
    >>> float(average_time_window(r, (10, 40)).item())
    2.0
    """
    if TIME not in responses.dims or window is None:
        return responses
    start, end = responses["time_bin_start"].values, responses["time_bin_end"].values
    inside = np.flatnonzero((start >= window[0]) & (end <= window[1]))
    if not inside.size:
        raise InvalidInputError(f"no time bin lies inside {window} ms; bins span {start.min()}–{end.max()} ms")
    averaged = responses.isel({TIME: inside}).mean(TIME, keep_attrs=True)
    return averaged.drop_vars([n for n, c in averaged.coords.items() if TIME in c.dims], errors="ignore").assign_attrs(
        time_window=list(window))


def _files(base: str, sha1: dict[str, str]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(name, base + name, sha1=digest) for name, digest in sha1.items())


@register_dataset
class MajajHong2015(BrainIODataset):
    """Macaque V4 (88 sites) and IT (168 sites) multi-unit firing rates, 70–170 ms, to the public HvM images
    (Brain-Score's ``dicarlo.MajajHong2015.public`` with ``dicarlo.hvm-public``), with repetitions."""

    identifier = "MajajHong2015"
    folder = "majajhong2015"
    citation = ("Majaj, Hong, Solomon & DiCarlo (2015). Simple learned weighted sums of inferior temporal neuronal "
                "firing rates accurately predict human core object recognition performance. J Neurosci "
                "35(39):13402-13418.")
    license = "public Brain-Score data (BrainIO catalog; no licence file published)"
    species = "macaque"
    modality = "multi-unit spikes"
    regions = ("V4", "IT")
    visual_degrees = 8.0  # images subtended 8° (Majaj et al. 2015, Methods; Brain-Score's VISUAL_DEGREES = 8)
    assembly = "assy_dicarlo_MajajHong2015_public.nc"
    stimuli_csv = "image_dicarlo_hvm-public.csv"
    stimuli_zip = "image_dicarlo_hvm-public.zip"
    time_window = (70.0, 170.0)
    files = _files(DICARLO, {assembly: "13d28ca0ce88ee550b54db3004374ae19096e9b9",
                             stimuli_csv: "3eff77e18169cca7cf20b74b4af47418b8ab5d51",
                             stimuli_zip: "e73d4c87db8358dd94168bda4bf608d2aedb5d33"})


@register_dataset
class MajajHong2015Temporal(MajajHong2015):
    """MajajHong2015 in time bins (Brain-Score's ``dicarlo.MajajHong2015.temporal.public``): stimulus × neuroid ×
    repetition × time, for time-resolved benchmarks."""

    identifier = "MajajHong2015.temporal"
    folder = "majajhong2015"
    assembly = "assy_dicarlo_MajajHong2015_temporal_public.nc"
    time_window = None
    files = _files(DICARLO, {assembly: "093ac35b3e8464c676d24cf38238415d4d6a9448",
                             MajajHong2015.stimuli_csv: "3eff77e18169cca7cf20b74b4af47418b8ab5d51",
                             MajajHong2015.stimuli_zip: "e73d4c87db8358dd94168bda4bf608d2aedb5d33"})


@register_dataset
class FreemanZiemba2013(BrainIODataset):
    """Macaque V1 and V2 single units to naturalistic textures and spectrally matched noise (Brain-Score's
    ``movshon.FreemanZiemba2013.public`` with ``movshon.FreemanZiemba2013.aperture-public``), 50–200 ms."""

    identifier = "FreemanZiemba2013"
    folder = "freemanziemba2013"
    citation = ("Freeman, Ziemba, Heeger, Simoncelli & Movshon (2013). A functional and perceptual signature of "
                "the second visual area in primates. Nat Neurosci 16(7):974-981.")
    license = "public Brain-Score data (BrainIO catalog; no licence file published)"
    species = "macaque"
    modality = "single-unit spikes"
    regions = ("V1", "V2")
    visual_degrees = 4.0  # Brain-Score's FreemanZiemba2013 benchmarks: textures shown at 4°
    assembly = "assy_movshon_FreemanZiemba2013_public.nc"
    stimuli_csv = "image_movshon_FreemanZiemba2013_aperture-public.csv"
    stimuli_zip = "image_movshon_FreemanZiemba2013_aperture-public.zip"
    time_window = (50.0, 200.0)
    files = _files(CONTRIB, {assembly: "761c08f796db4e342555cdb60eef23a4f19ead43",
                             stimuli_csv: "ea161beecbb11249bf153108eb4b145b6eacec90",
                             stimuli_zip: "59051aebcf1c2b507671a68f1752bfa89a444d66"})
