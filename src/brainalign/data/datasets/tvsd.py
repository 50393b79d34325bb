"""TVSD, the THINGS Ventral Stream Spiking Dataset (Papale et al. 2025): multi-unit activity of 1,024 electrodes
(16 Utah arrays) in V1, V4 and IT of two macaques to 22,248 THINGS training images (one trial each) and 100 test
images (30 repetitions).

Files (the GIN repository ``paolo_papale/TVSD``; MATLAB v7.3, read with h5py, which reverses MATLAB's axis order)::

    monkeyN/THINGS_normMUA.mat       train_MUA (images × electrodes), test_MUA_reps (30 × 100 × electrodes): MUA
                                     normalised per electrode and day, averaged over the region's window
                                     (V1 25-125 ms, V4 50-150 ms, IT 75-175 ms after onset)
    monkeyN/_logs/things_imgs.mat    train_imgs/things_path, test_imgs/things_path: "<concept>/<file>.jpg"
    monkeyN/THINGS_MUA_trials.mat    (~58 GB) un-normalised MUA of every correct trial:
                                     ALLMUA (MATLAB electrode × trial × time; h5py time × trial × electrode),
                                     ALLMAT (MATLAB trial × [trial, train_idx, test_idx, rep, count, day]; 1-based
                                     image indices into things_imgs.mat, 0 in the other split),
                                     tb (time of each sample in ms from stimulus onset)
    monkeyN/_logs/1024chns_mapping_20220105.mat   mapping: ALLMUA's electrodes are in the order of the recording
                                     system; electrode i (1-based, array order) is ALLMUA electrode mapping(i)

Confirmed from the provider's own files as found in the code index (copies of GIN ``paolo_papale/TVSD``; the index
does not name the repository holding them): ``README.md`` (variables of both files, ALLMAT columns, ALLMUA axes, tb
in ms, the channel-order caveat of GIN issue 2) and ``_code/norm_MUA.m`` (region ranges, ALLMAT columns as read
there: ``ALLMAT(:,2)`` train, ``ALLMAT(:,3)`` test, ``ALLMAT(:,end)`` day; ``normMUA = normMUA(mapping,:)``; the
per-day z-scoring with the mean and std of that day's test trials inside the region's window ``tb > start & tb <=
end``). The README lists a 7th ALLMAT column ("correct") that norm_MUA.m does not have; the day is read from the
last column either way. h5py shapes (ALLMUA 300 × 25,248 × 1,024; ALLMAT 6 × trials; 300 samples of tb, -100 to 199
ms, 1 ms) are as read by users' code (a BERG TVSD preprocessing ``utils.py``, repository not named by the index),
not by the provider's; the loader reads tb from the file rather than assuming it. The mapping file's location for
monkey F is assumed to mirror monkey N's (only the monkey N path is confirmed, from norm_MUA.m and users' code).

Electrodes by region (``norm_MUA.m``): monkey N: V1 1-512, V4 513-768, IT 769-1024; monkey F: V1 1-512,
IT 513-832, V4 833-1024. Images: the THINGS database (``object_images/`` beside the files, as for THINGS-fMRI).

Time-resolved responses (``responses(..., bin_ms=10)``) read ``THINGS_MUA_trials.mat`` lazily: only the
region's electrodes, blocks of trials holding the split's trials, so memory stays within the result plus one
block. Each electrode is z-scored per recording day as norm_MUA.m does (so the time average over the region's
window reproduces ``THINGS_normMUA.mat`` up to norm_MUA.m's region labelling), then averaged in bins of
``bin_ms`` milliseconds of tb (``time``: the bin's start in ms after onset). The first use of the 58 GB file
hashes it (minutes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import scipy.io
import xarray as xr
from tqdm.auto import tqdm

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, TIME, make_responses
from brainalign.data.dataset import Dataset
from brainalign.data.datasets.things_fmri import things_image_root
from brainalign.data.fetch import RemoteFile
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet
from brainalign.data.trials import trials_to_repetitions

GIN = "https://gin.g-node.org/paolo_papale/TVSD/raw/master/"
MONKEYS = ("monkeyN", "monkeyF")
SPLITS = ("test", "train")
TRIALS, MAPPING = "THINGS_MUA_trials.mat", "_logs/1024chns_mapping_20220105.mat"
WINDOWS_MS = {"V1": (25, 125), "V4": (50, 150), "IT": (75, 175)}  # norm_MUA.m: tb > start & tb <= end
BLOCK = 128  # trials read at once from THINGS_MUA_trials.mat
ELECTRODES = {  # region → 0-based electrode range, per monkey
    "monkeyN": {"V1": (0, 512), "V4": (512, 768), "IT": (768, 1024)},
    "monkeyF": {"V1": (0, 512), "IT": (512, 832), "V4": (832, 1024)},
}


def matlab_strings(f: h5py.File, name: str) -> list[str]:
    """A MATLAB v7.3 cell array of strings (HDF5 object references to uint16 character arrays) as Python strings."""
    if name not in f:
        raise InvalidInputError(f"{f.filename} has no variable {name!r}")
    return ["".join(map(chr, np.asarray(f[ref]).ravel())) for ref in np.asarray(f[name]).ravel()]


def read_mapping(path: Path) -> np.ndarray:
    """The 0-based ALLMUA electrode of each electrode in array order, from ``1024chns_mapping_*.mat``."""
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            mapping = np.asarray(f["mapping"]) if "mapping" in f else None
    else:
        mapping = scipy.io.loadmat(path).get("mapping")
    if mapping is None:
        raise InvalidInputError(f"{path} has no variable 'mapping'")
    mapping = np.asarray(mapping, dtype=np.int64).ravel() - 1
    if sorted(mapping.tolist()) != list(range(len(mapping))):
        raise InvalidInputError(f"{path}: 'mapping' is not a permutation of 1..{len(mapping)}")
    return mapping


def bin_edges(tb: np.ndarray, bin_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """``(bin of each sample, bin starts in ms)``: bins of ``bin_ms`` from the first sample; a last bin shorter
    than ``bin_ms`` is dropped (its samples get bin -1).

    >>> bin_edges(np.arange(-3.0, 4.0), 3)
    (array([ 0,  0,  0,  1,  1,  1, -1]), array([-3.,  0.]))
    """
    index = np.floor((tb - tb[0]) / bin_ms + 1e-9).astype(int)
    n_bins = int(np.floor((tb[-1] - tb[0] + np.median(np.diff(tb))) / bin_ms + 1e-9))
    index[index >= n_bins] = -1
    return index, tb[0] + bin_ms * np.arange(n_bins)


@register_dataset
class TVSD(Dataset):
    """TVSD: ``responses(region, monkey="monkeyN", split="test")`` is stimulus × electrode × repetition (test: 100
    images × 30 repetitions) or stimulus × electrode (train), ids the THINGS file stems."""

    identifier = "TVSD"
    folder = "tvsd"
    citation = ("Papale, Wang, Self & Roelfsema (2025). An extensive dataset of spiking activity to reveal the "
                "syntax of the ventral stream. Neuron 113:539-553.")
    license = "CC BY 4.0 (GIN repository paolo_papale/TVSD)"
    species = "macaque"
    modality = "multi-unit activity (Utah arrays)"
    regions = ("V1", "V4", "IT")
    visual_degrees = None  # not verified here from the paper's text
    trial_files = tuple(RemoteFile(path, GIN + path) for m in MONKEYS for path in (f"{m}/{TRIALS}", f"{m}/{MAPPING}"))
    files = (*(RemoteFile(path, GIN + path) for m in MONKEYS
               for path in (f"{m}/THINGS_normMUA.mat", f"{m}/_logs/things_imgs.mat")), *trial_files)

    def download(self) -> list[Path]:
        """The normalised files of both monkeys (the ~58 GB trial files are fetched when first used)."""
        return [self._fetch(f.path) for f in self.files if f not in self.trial_files]

    def image_paths(self, monkey: str = "monkeyN", split: str = "test") -> list[str]:
        """The THINGS paths (``<concept>/<file>.jpg``) of the trials of ``split``, in data order."""
        self._check_selection({"monkey": monkey, "split": split}, {"monkey": MONKEYS, "split": SPLITS})
        with h5py.File(self._fetch(f"{monkey}/_logs/things_imgs.mat"), "r") as f:
            return matlab_strings(f, f"{split}_imgs/things_path")

    def stimulus_set(self, monkey: str = "monkeyN", split: str = "test", bin_ms: float | None = None,
                     **selection: Any) -> StimulusSet:
        """The THINGS images of ``split`` in the order of :meth:`responses` (ids: file stems; ``bin_ms`` is
        accepted so that one selection serves both)."""
        self._check_selection(selection, {})
        paths = list(dict.fromkeys(self.image_paths(monkey, split)))
        root = things_image_root(self.folder)
        return StimulusSet(f"{self.identifier}.{split}", [Path(p).stem for p in paths], paths=[root / p for p in paths],
                           metadata=pd.DataFrame({"concept": [Path(p).parent.name for p in paths]}))

    def responses(self, region: str, monkey: str = "monkeyN", split: str = "test", bin_ms: float | None = None,
                  **selection: Any) -> xr.DataArray:
        """Normalised MUA of the electrodes of ``region``: time-averaged (``THINGS_normMUA.mat``), or with
        ``bin_ms`` in time bins of that width from ``THINGS_MUA_trials.mat`` (test: stimulus × electrode ×
        repetition × time; train: stimulus × electrode × time)."""
        self._check_region(region)
        self._check_selection({"monkey": monkey, "split": split, **selection}, {"monkey": MONKEYS, "split": SPLITS})
        if bin_ms is not None:
            return self._time_responses(region, monkey, split, bin_ms)
        start, end = ELECTRODES[monkey][region]
        paths = self.image_paths(monkey, split)
        path = self._fetch(f"{monkey}/THINGS_normMUA.mat")
        with h5py.File(path, "r") as f:
            if split == "test":  # (repetition, image, electrode): each image's 30 trials
                reps = np.asarray(f["test_MUA_reps"][:, :, start:end], dtype=np.float32)
                trials, ids = reps.reshape(-1, end - start), [p for _ in range(reps.shape[0]) for p in paths]
                if reps.shape[1] != len(paths):
                    raise InvalidInputError(f"{path}: test_MUA_reps has {reps.shape[1]} images, things_imgs.mat "
                                            f"{len(paths)}")
            else:
                trials, ids = np.asarray(f["train_MUA"][:, start:end], dtype=np.float32), paths
        if len(trials) != len(ids):
            raise InvalidInputError(f"{path}: {len(trials)} trials for {len(ids)} images in things_imgs.mat")
        return self._labelled(trials, [Path(p).stem for p in ids], region, monkey, split)

    def _time_responses(self, region: str, monkey: str, split: str, bin_ms: float) -> xr.DataArray:
        if not (isinstance(bin_ms, int | float) and bin_ms > 0):
            raise InvalidInputError(f"bin_ms must be a positive number of milliseconds; got {bin_ms!r}")
        start, end = ELECTRODES[monkey][region]
        paths = self.image_paths(monkey, split)
        channels = read_mapping(self._fetch(f"{monkey}/{MAPPING}"))[start:end]  # ALLMUA electrode of each
        path = self._fetch(f"{monkey}/{TRIALS}")
        with h5py.File(path, "r") as f:
            missing = [k for k in ("ALLMUA", "ALLMAT", "tb") if k not in f]
            if missing:
                raise InvalidInputError(f"{path} lacks the variables {missing}")
            allmat, tb = np.asarray(f["ALLMAT"]), np.asarray(f["tb"], dtype=float).ravel()
            if allmat.ndim != 2 or allmat.shape[0] < 3 or f["ALLMUA"].shape[:2] != (len(tb), allmat.shape[1]):
                raise InvalidInputError(f"{path}: ALLMUA {f['ALLMUA'].shape}, ALLMAT {allmat.shape} and tb "
                                        f"({len(tb)}) do not fit (time × trial × electrode, columns × trial)")
            image = allmat[1 if split == "train" else 2].astype(int)  # 1-based index into things_imgs.mat
            day = allmat[-1].astype(int)
            if image.max() > len(paths):
                raise InvalidInputError(f"{path}: image index {image.max()} beyond the {len(paths)} {split} images")
            wanted = np.flatnonzero(image > 0)
            wanted = wanted[np.argsort(image[wanted], kind="stable")]  # things_imgs order, repetitions in time
            in_bin, starts = bin_edges(tb, bin_ms)
            low, high = WINDOWS_MS[region]
            pool = DayPool((tb > low) & (tb <= high))  # test trials: normalised by themselves, read once
            binned = _read_binned(f["ALLMUA"], wanted, channels, in_bin, len(starts), desc=f"TVSD {monkey} {split}",
                                  pool=pool if split == "test" else None, days=day[wanted])
            if split == "train":
                test = np.flatnonzero(allmat[2] > 0)
                for positions, data in _blocks(test, channels, f["ALLMUA"], "TVSD normalisation"):
                    pool.add(data, day[test][positions])
            mean, std = pool.statistics()
        days = day[wanted]
        unknown = sorted(set(days.tolist()) - set(mean))
        if unknown:
            raise InvalidInputError(f"{path}: days {unknown} have no test trials to normalise with")
        for d in np.unique(days):
            binned[days == d] = (binned[days == d] - mean[d][:, None]) / std[d][:, None]
        responses = self._labelled(binned, [Path(paths[i - 1]).stem for i in image[wanted]], region, monkey, split)
        return responses.assign_coords({TIME: starts, "time_bin_end": (TIME, starts + bin_ms)}).assign_attrs(
            unit="MUA z-scored per electrode and day (test trials, region window)", bin_ms=bin_ms)

    def _labelled(self, trials: np.ndarray, ids: list[str], region: str, monkey: str, split: str) -> xr.DataArray:
        """Trial rows (trial × electrode [× time]) as stimulus × electrode [× repetition] [× time]."""
        values, order = trials_to_repetitions(trials, ids)  # stimulus × electrode [× time] × repetition
        dims: list[str] = [STIMULUS, NEUROID, *([TIME] if trials.ndim == 3 else []), REPETITION]
        if values.shape[-1] == 1:
            values, dims = values[..., 0], dims[:-1]
        elif trials.ndim == 3:
            values, dims = np.moveaxis(values, -1, 2), [STIMULUS, NEUROID, REPETITION, TIME]
        start, end = ELECTRODES[monkey][region]
        electrodes = np.arange(start, end) + 1
        return make_responses(values, order, dims=dims,
                              neuroid_coords={"neuroid_id": [f"{monkey}/e{e:04d}" for e in electrodes],
                                              "electrode": electrodes.tolist(), "array": ((electrodes - 1) // 64 + 1
                                                                                          ).tolist(),
                                              "animal": [monkey] * len(electrodes),
                                              "region": [region] * len(electrodes)},
                              attrs={"dataset": self.identifier, "region": region, "monkey": monkey, "split": split})



def _blocks(trials: np.ndarray, channels: np.ndarray, allmua: h5py.Dataset, desc: str):
    """``(positions in trials, time × trial × channel data)`` per block of ``BLOCK`` consecutive file trials
    holding some of ``trials``; channels in the given order (h5py reads them sorted)."""
    order = np.argsort(channels)
    back = np.argsort(order)
    sorted_channels = channels[order]
    blocks = np.unique(trials // BLOCK)
    for block in tqdm(blocks, desc=desc, disable=None):
        first = block * BLOCK
        positions = np.flatnonzero(trials // BLOCK == block)
        data = allmua[:, first:first + BLOCK, sorted_channels][:, :, back]
        yield positions, data[:, trials[positions] - first]


def _read_binned(allmua: h5py.Dataset, trials: np.ndarray, channels: np.ndarray, in_bin: np.ndarray, n_bins: int,
                 desc: str, pool: DayPool | None = None, days: np.ndarray | None = None) -> np.ndarray:
    """trial × channel × bin means of ``allmua`` (time × trial × channel), read block by block; each block also
    goes into ``pool`` (with the trials' ``days``) when one is given."""
    out = np.empty((len(trials), len(channels), n_bins), dtype=np.float32)
    weights = (in_bin[None] == np.arange(n_bins)[:, None]).astype(float)  # bin × time sample
    weights /= weights.sum(1, keepdims=True)
    for positions, data in _blocks(trials, channels, allmua, desc):
        out[positions] = np.einsum("bt,tkc->kcb", weights, data)
        if pool is not None and days is not None:
            pool.add(data, days[positions])
    return out


class DayPool:
    """Per recording day, each channel's mean and std (ddof 1, MATLAB's nanstd) over the time samples in
    ``window`` of the trials added: norm_MUA.m's normalisation pool when the trials are the test trials.

    >>> pool = DayPool(np.array([False, True, True]))
    >>> pool.add(np.arange(12.0).reshape(3, 2, 2), np.array([1, 1]))  # time × trial × channel
    >>> mean, std = pool.statistics()
    >>> mean[1].tolist(), bool(np.isclose(std[1][0], np.std([4.0, 6.0, 8.0, 10.0], ddof=1)))
    ([7.0, 8.0], True)
    """

    def __init__(self, window: np.ndarray):
        self.window = window
        self.n: dict[int, np.ndarray] = {}
        self.total: dict[int, np.ndarray] = {}
        self.squares: dict[int, np.ndarray] = {}

    def add(self, data: np.ndarray, days: np.ndarray) -> None:
        """Add trials (``data``: time × trial × channel) recorded on ``days``."""
        window_data = data[self.window].astype(float)
        for d in map(int, np.unique(days)):
            part = window_data[:, days == d]
            self.n[d] = self.n.get(d, 0) + np.isfinite(part).sum((0, 1))
            self.total[d] = self.total.get(d, 0) + np.nansum(part, (0, 1))
            self.squares[d] = self.squares.get(d, 0) + np.nansum(part ** 2, (0, 1))

    def statistics(self) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """``(mean, std)`` per day."""
        mean = {d: self.total[d] / self.n[d] for d in self.n}
        return mean, {d: np.sqrt((self.squares[d] - self.n[d] * mean[d] ** 2) / (self.n[d] - 1)) for d in self.n}
