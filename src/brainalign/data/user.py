"""Your own data in one call: :func:`from_arrays` turns stimuli plus measured arrays into a `Dataset`
(:func:`from_folder`: a stimulus folder plus a responses file), and :meth:`UserDataset.benchmark` turns that into a
`Benchmark` that ``score`` accepts. ``Dataset.from_arrays`` / ``Dataset.from_folder`` are the same functions.

Stimuli: a `StimulusSet`, a folder of images, a list of image / video paths, an ``(n, H, W, 3)`` uint8 array
(written once as PNG files into the cache) or a list of texts. Responses: an array ``(stimulus, neuroid
[, repetition] [, time])`` (missing repetitions NaN) or labelled `Responses`; RDMs: a ``(subject, n, n)`` stack
or an `RDM`. Per-neuroid ``region`` / ``subject`` labels split the responses into regions and subjects.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> data = from_arrays(["a cat", "a dog", "a car", "a bus", "a cup"], rng.normal(size=(5, 6, 2)),
...                    region=["V1"] * 3 + ["IT"] * 3)
>>> data.regions, data.responses("IT").dims, data.stimulus_set().modality
(('IT', 'V1'), ('stimulus', 'neuroid', 'repetition'), 'text')
>>> bench = data.benchmark("ridge", region="IT", ceiling="split-half")
>>> bench.identifier == f"user-{data.sha256()[:12]}.IT-ridge"
True
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.core.config import cache_dir
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, STIMULUS_ID, TIME, make_responses
from brainalign.data.dataset import Dataset
from brainalign.data.rdm import RDM
from brainalign.data.stimuli import IMAGE_SUFFIXES, StimulusSet, natural_key, write_images

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif")
DEFAULT_REGION = "brain"
RESPONSE_SUFFIXES = (".npy", ".npz", ".nc")
_LAYOUTS = {2: (STIMULUS, NEUROID), 3: (STIMULUS, NEUROID, REPETITION), 4: (STIMULUS, NEUROID, REPETITION, TIME)}


class UserDataset(Dataset):
    """A dataset made of in-memory data (see :func:`from_arrays`); regions are the neuroids' ``region`` labels and
    the regions of the RDM stacks."""

    folder = "user"
    citation = license = "user data"
    species = modality = "unknown"

    def __init__(self, identifier: str, stimuli: StimulusSet, responses: xr.DataArray | None,
                 rdms: Mapping[str, RDM], species: str = "unknown", modality: str = "unknown") -> None:
        self.identifier, self.species, self.modality = identifier, species, modality
        self._stimuli, self._responses, self._rdms = stimuli, responses, dict(rdms)
        from_responses = [] if responses is None else sorted(set(map(str, responses["region"].values)))
        self.regions = tuple(dict.fromkeys([*from_responses, *sorted(self._rdms)]))

    def stimulus_set(self, **selection: Any) -> StimulusSet:
        self._check_selection(selection, {})
        return self._stimuli

    def responses(self, region: str, **selection: Any) -> xr.DataArray:
        self._check_region(region)
        self._check_selection(selection, {})
        if self._responses is None or region not in set(self._responses["region"].values):
            return super().responses(region)  # the error: this region has only RDMs
        return self._responses.isel({NEUROID: self._responses["region"].values == region})

    def rdms(self, region: str) -> RDM:
        """The given RDM stack of ``region``; else correlation-distance RDMs of its responses, one per ``subject``."""
        self._check_region(region)
        if region in self._rdms:
            return self._rdms[region]
        from brainalign.metrics.similarity.rdms import compute_rdm

        responses = self.responses(region)
        subjects = responses["subject"].values if "subject" in responses.coords else np.zeros(responses.sizes[NEUROID])
        stacks = [compute_rdm(responses.isel({NEUROID: subjects == s})) for s in dict.fromkeys(subjects)]
        return RDM(np.concatenate([r.condensed for r in stacks]), stacks[0].stimulus_ids, distance="correlation",
                   descriptors=pd.DataFrame({"subject": list(map(str, dict.fromkeys(subjects)))}))

    def sha256(self) -> str:
        """A digest of the stimuli's content and every measured value and label (part of benchmark identifiers)."""
        digest = hashlib.sha256(self._stimuli.fingerprint().encode())
        if self._responses is not None:
            digest.update(np.ascontiguousarray(self._responses.values, dtype=float).tobytes())
            digest.update(repr(self._responses.dims).encode())
            for name in sorted(self._responses.coords):
                digest.update(f"{name}={list(map(str, self._responses[name].values))}".encode())
        for region in sorted(self._rdms):
            digest.update(region.encode() + np.ascontiguousarray(self._rdms[region].condensed, dtype=float).tobytes())
        return digest.hexdigest()

    def info(self) -> dict[str, Any]:
        return {**super().info(), "sha256": self.sha256()}

    def benchmark(self, metric: str = "ridge", region: str | None = None, ceiling: str | None = None,
                  identifier: str | None = None, **metric_options: Any) -> Benchmark:
        """A `Benchmark` scoring models against ``region`` (default: the only region) with ``metric``.

        ``metric="rsa"`` compares RDMs (the given stacks, or RDMs of the responses); other metrics fit
        ``responses``, time-resolved ones at every time point (value = the peak, as `TimeResolvedBenchmark`).
        ``ceiling="split-half"`` normalises an encoding score by split-half reliability across repetitions. The
        identifier holds a content hash, so results of different data never mix.
        """
        from brainalign.metrics.registry import list_metrics

        if metric not in list_metrics():
            raise UnknownNameError("metric", metric, list_metrics())
        if region is None:
            if len(self.regions) != 1:
                raise InvalidInputError(f"dataset {self.identifier!r} has regions {list(self.regions)}; pass region=")
            region = self.regions[0]
        self._check_region(region)
        target = "rdms" if metric == "rsa" else "responses"
        if ceiling not in (None, "split-half"):
            raise InvalidInputError(f"ceiling {ceiling!r} is not supported; valid: None, 'split-half'")
        if ceiling is not None and target == "rdms":
            raise InvalidInputError("RSA computes its noise ceiling from the subjects' RDMs; leave ceiling=None")
        if ceiling is not None and REPETITION not in self.responses(region).dims:
            raise InvalidInputError(f"ceiling 'split-half' needs repetitions; region {region!r} responses have dims "
                                    f"{self.responses(region).dims}")
        kind = UserBenchmark
        if target == "responses" and TIME in self.responses(region).dims:
            if ceiling is not None:
                raise InvalidInputError("time-resolved benchmarks score the peak of a time course and have no ceiling")
            kind = _time_resolved_benchmark_class()
        name = identifier or f"{self.identifier}-{self.sha256()[:12]}.{region}-{metric}"
        return kind(name, self.identifier, region, metric, target, metric_options=metric_options,
                             ceiling=ceiling, description=f"user data {self.identifier} ({self.sha256()[:12]})",
                             source=self)


@dataclass(frozen=True)
class UserBenchmark(Benchmark):
    """A `Benchmark` on a `UserDataset` it holds (not looked up in the dataset registry)."""

    source: UserDataset | None = field(default=None, compare=False, repr=False)

    def __hash__(self) -> int:
        return hash((self.identifier, self.version))

    @property
    def citation(self) -> str:
        return "user data"

    def data_sha256(self) -> str | None:
        return self._dataset().sha256()

    def _dataset(self) -> UserDataset:
        if self.source is None:
            raise InvalidInputError(f"user benchmark {self.identifier!r} holds no dataset")
        return self.source


@functools.cache
def _time_resolved_benchmark_class() -> type[UserBenchmark]:
    """`UserBenchmark` scored as a `TimeResolvedBenchmark` (imported on first use: it loads the neural benchmarks)."""
    from brainalign.benchmarks.neural import TimeResolvedBenchmark

    return type("UserTimeResolvedBenchmark", (UserBenchmark, TimeResolvedBenchmark), {"__module__": __name__})


def from_arrays(
    stimuli: Any,
    responses: Any = None,
    *,
    rdms: Any = None,
    stimulus_ids: Sequence[str] | None = None,
    region: str | Sequence[str] = DEFAULT_REGION,
    subject: Sequence[Any] | None = None,
    dims: Sequence[str] | None = None,
    times: Sequence[float] | None = None,
    identifier: str = "user",
    species: str = "unknown",
    modality: str = "unknown",
) -> UserDataset:
    """A `UserDataset` from stimuli and responses and/or RDM stacks (see the module docstring for the layouts).

    ``region`` is one name for all neuroids or one per neuroid (labelled responses with a ``region`` coordinate
    keep theirs unless ``region`` is a sequence); ``subject`` one label per neuroid. RDM stacks
    belong to ``region`` (a name), or give a ``{region: stack}`` mapping. ``stimulus_ids`` default to the
    stimulus set's ids (file stems for paths, ``stim0000``... for arrays and texts). ``dims`` names the array's
    dims when they are not ``stimulus, neuroid[, repetition[, time]]``.

    >>> import numpy as np
    >>> from_arrays(np.zeros((3, 8, 8, 3), "uint8"), np.ones((4, 2)))
    Traceback (most recent call last):
    ...
    brainalign.core.errors.InvalidInputError: responses have 4 stimuli (shape (4, 2)) but there are 3 stimuli
    """
    if responses is None and rdms is None:
        raise InvalidInputError("from_arrays needs responses and/or rdms")
    stimulus_set = _stimulus_set(stimuli, stimulus_ids, identifier)
    labelled = None if responses is None else _responses(responses, stimulus_set, region, subject, dims, times)
    if rdms is not None and not isinstance(rdms, Mapping):
        if not isinstance(region, str):
            raise InvalidInputError("RDM stacks need one region name; give rdms={region: stack} for several")
        rdms = {region: rdms}
    stacks = {str(name): _rdm(stack, stimulus_set) for name, stack in (rdms or {}).items()}
    return UserDataset(identifier, stimulus_set, labelled, stacks, species=species, modality=modality)


def from_folder(stimuli: str | os.PathLike, responses: str | os.PathLike, *, region: str = DEFAULT_REGION,
                identifier: str | None = None, **options: Any) -> UserDataset:
    """A `UserDataset` from a stimulus folder (images, else videos, in natural file order) or a text file (one
    stimulus per line), and a responses file (see :func:`read_response_file`); ``options`` go to
    :func:`from_arrays`.

    >>> import tempfile, pathlib, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "sentences.txt").write_text("a cat\\na dog\\na car\\n")
    >>> np.savez(folder / "data.npz", rdms=np.ones((2, 3, 3)) - np.eye(3))
    >>> data = from_folder(folder / "sentences.txt", folder / "data.npz", region="LANG")
    >>> data.regions, data.rdms("LANG").n_rdms, data.stimulus_set().texts
    (('LANG',), 2, ['a cat', 'a dog', 'a car'])
    """
    source = Path(stimuli)
    identifier = identifier or source.stem
    if source.is_file() and source.suffix == ".txt":
        texts = [line.strip() for line in source.read_text().splitlines() if line.strip()]
        stimulus_set = StimulusSet(identifier, [f"{identifier}/{i:04d}" for i in range(len(texts))], texts=texts,
                                   modality="text")
    elif source.is_dir() and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in source.iterdir()):
        videos = sorted((p for p in source.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES),
                        key=lambda p: natural_key(p.name))
        if not videos:
            raise InvalidInputError(f"no image or video files in {source} (looked for "
                                    f"{', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})")
        stimulus_set = _stimulus_set(videos, [f"{identifier}/{p.stem}" for p in videos], identifier)
    elif source.is_dir():
        stimulus_set = StimulusSet.from_folder(source, identifier=identifier)
    else:
        raise InvalidInputError(f"stimuli {source} must be a folder of images or videos, or a .txt file of texts")
    arrays = read_response_file(responses)
    return from_arrays(stimulus_set, arrays.get("responses"), rdms=arrays.get("rdms"),
                       region=arrays.get("region", region), subject=arrays.get("subject"), identifier=identifier,
                       **options)


def read_response_file(path: str | os.PathLike) -> dict[str, Any]:
    """The arrays of a responses file: ``.npy`` (stimulus × neuroid [× repetition [× time]]), ``.npz``
    (``responses`` and/or ``rdms`` (subject × n × n), optional per-neuroid ``region`` and ``subject``) or ``.nc``
    (labelled `Responses`, matched to the stimuli by ``stimulus_id``)."""
    path = Path(path)
    if path.suffix == ".npy":
        return {"responses": np.load(path, allow_pickle=False)}
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as content:
            arrays = {key: content[key] for key in content.files}
        unknown = sorted(set(arrays) - {"responses", "rdms", "region", "subject"})
        if unknown or not {"responses", "rdms"} & set(arrays):
            raise InvalidInputError(f"{path}: arrays {sorted(arrays)}; valid: responses and/or rdms, region, subject")
        for label in ("region", "subject"):
            if label in arrays:
                arrays[label] = [str(v) for v in arrays[label]]
        return arrays
    if path.suffix == ".nc":
        with xr.open_dataarray(path) as array:
            return {"responses": array.load()}
    raise InvalidInputError(f"responses file {path}: valid suffixes {', '.join(RESPONSE_SUFFIXES)}")


def responses_from_trials(trials: Any, trial_stimulus: Sequence[str], stimulus_ids: Sequence[str] | None = None,
                          neuroid_coords: Mapping[str, Sequence[Any]] | None = None) -> xr.DataArray:
    """`Responses` from one row per trial ``(trial, neuroid)``: trials of the same stimulus become repetitions in
    trial order, NaN-padded to the most repeated stimulus (2-D when every stimulus has one trial).
    ``stimulus_ids`` (default: the trials' stimuli in first-seen order) must each have a trial.

    >>> responses_from_trials([[1.0], [2.0], [3.0]], ["b", "a", "b"]).values[:, 0].tolist()
    [[1.0, 3.0], [2.0, nan]]
    """
    rows = np.asarray(trials, dtype=float)
    labels = [str(s) for s in trial_stimulus]
    if rows.ndim != 2 or len(labels) != len(rows):
        raise InvalidInputError(f"trials have shape {rows.shape} for {len(labels)} trial stimulus labels; "
                                "expected (trial, neuroid) with one label per trial")
    ids = [str(s) for s in (stimulus_ids if stimulus_ids is not None else dict.fromkeys(labels))]
    counts = Counter(labels)
    unknown, never = sorted(set(labels) - set(ids)), [s for s in ids if s not in counts]
    if unknown or never:
        raise InvalidInputError(f"trial labels {unknown[:5]} are not stimulus ids; {len(never)} stimuli have no trial "
                                f"(e.g. {never[:3]})")
    if labels == ids:
        return make_responses(rows, ids, neuroid_coords=neuroid_coords)
    values = np.full((len(ids), rows.shape[1], max(counts.values())), np.nan)
    position, seen = {s: i for i, s in enumerate(ids)}, Counter[str]()
    for label, row in zip(labels, rows, strict=True):
        values[position[label], :, seen[label]] = row
        seen[label] += 1
    return make_responses(values, ids, dims=(STIMULUS, NEUROID, REPETITION), neuroid_coords=neuroid_coords)


def _stimulus_set(stimuli: Any, ids: Sequence[str] | None, identifier: str) -> StimulusSet:
    if isinstance(stimuli, StimulusSet):
        if ids is not None and list(map(str, ids)) != stimuli.stimulus_ids:
            return stimuli.ordered_as(ids)
        return stimuli
    if isinstance(stimuli, (str, os.PathLike)) and Path(stimuli).is_dir():
        folder = StimulusSet.from_folder(stimuli, identifier=identifier)
        return folder if ids is None else _renamed(folder, ids)
    if isinstance(stimuli, np.ndarray) and stimuli.ndim == 4:
        return _array_images(stimuli, ids, identifier)
    items = list(stimuli) if isinstance(stimuli, Sequence) and not isinstance(stimuli, str) else None
    if not items:
        raise InvalidInputError(f"stimuli must be a StimulusSet, a folder, image/video paths, an (n, H, W, 3) uint8 "
                                f"array or texts; got {type(stimuli).__name__} {getattr(stimuli, 'shape', '')}")
    paths = [Path(item) for item in items if isinstance(item, (str, os.PathLike))]
    suffixes = {p.suffix.lower() for p in paths}
    if len(paths) == len(items) and suffixes <= set(IMAGE_SUFFIXES + VIDEO_SUFFIXES) and all(
            p.is_file() for p in paths):
        modality = "image" if suffixes <= set(IMAGE_SUFFIXES) else "video"
        if modality == "video" and not suffixes <= set(VIDEO_SUFFIXES):
            raise InvalidInputError(f"stimuli mix image and video files ({sorted(suffixes)}); give one kind")
        names = ids or [p.stem for p in paths]
        return StimulusSet(identifier, list(names), paths=paths, modality=modality,
                           metadata=pd.DataFrame({"filename": [p.name for p in paths]}))
    missing = [str(p) for p in paths if p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES and not p.is_file()]
    if missing:
        raise InvalidInputError(f"{len(missing)} stimulus files do not exist (e.g. {missing[:3]})")
    if not all(isinstance(item, str) for item in items):
        raise InvalidInputError("stimuli given as a list must all be file paths or all texts")
    return StimulusSet(identifier, list(ids or _numbered(len(items))), texts=items, modality="text")


def _renamed(stimuli: StimulusSet, ids: Sequence[str]) -> StimulusSet:
    if len(ids) != len(stimuli):
        raise InvalidInputError(f"{len(ids)} stimulus_ids for {len(stimuli)} stimuli in the folder")
    return StimulusSet(stimuli.identifier, list(ids), paths=stimuli.paths, modality=stimuli.modality,
                       metadata=stimuli.metadata)


def _numbered(n: int) -> list[str]:
    return [f"stim{i:04d}" for i in range(n)]


def _array_images(images: np.ndarray, ids: Sequence[str] | None, identifier: str) -> StimulusSet:
    """Write an ``(n, H, W, 3)`` uint8 array as PNG files into a cache folder named by its content hash."""
    from PIL import Image

    if images.dtype != np.uint8 or images.shape[-1] != 3:
        raise InvalidInputError(f"image arrays must be (n, H, W, 3) uint8; got {images.shape} {images.dtype}")
    folder = cache_dir("data", "user", hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:16])
    names = list(ids or _numbered(len(images)))
    if len(names) != len(images):
        raise InvalidInputError(f"{len(names)} stimulus_ids for {len(images)} images")
    paths = write_images(folder, [(f"{i:05d}.png", lambda i=i: Image.fromarray(images[i])) for i in range(len(names))])
    return StimulusSet(identifier, names, paths=paths)


def _responses(values: Any, stimuli: StimulusSet, region: str | Sequence[str], subject: Sequence[Any] | None,
               dims: Sequence[str] | None, times: Sequence[float] | None) -> xr.DataArray:
    if isinstance(values, xr.DataArray):
        array = values
        if STIMULUS_ID in array.coords:
            order = {str(s): i for i, s in enumerate(array[STIMULUS_ID].values)}
            missing = [s for s in stimuli.stimulus_ids if s not in order]
            extra = [s for s in order if s not in set(stimuli.stimulus_ids)]
            if missing or extra:
                raise InvalidInputError(f"response stimulus ids differ from the stimuli's: {len(missing)} stimuli have "
                                        f"no responses (e.g. {missing[:3]}), {len(extra)} responses have no stimulus "
                                        f"(e.g. {extra[:3]})")
            array = array.isel({STIMULUS: [order[s] for s in stimuli.stimulus_ids]})
        dims, values = array.dims, array.values
        neuroid_coords = {name: array[name].values for name in array.coords if array[name].dims == (NEUROID,)}
    else:
        values, neuroid_coords = np.asarray(values, dtype=float), {}
    if dims is None:
        if values.ndim not in _LAYOUTS:
            raise InvalidInputError(f"responses have shape {values.shape}; expected (stimulus, neuroid[, repetition"
                                    "[, time]]) or give dims=")
        dims = _LAYOUTS[values.ndim]
    if values.shape[0] != len(stimuli):
        raise InvalidInputError(f"responses have {values.shape[0]} stimuli (shape {values.shape}) but there are "
                                f"{len(stimuli)} stimuli")
    n = values.shape[tuple(dims).index(NEUROID)] if NEUROID in dims else 0
    labels: dict[str, list[Any]] = {}
    if not (isinstance(region, str) and "region" in neuroid_coords):  # labelled responses keep their regions
        labels["region"] = [region] * n if isinstance(region, str) else list(region)
    if subject is not None:
        labels["subject"] = list(subject)
    for name, given in labels.items():
        if len(given) != n:
            raise InvalidInputError(f"{len(given)} {name} labels for {n} neuroids (responses shape {values.shape})")
    coords = {**neuroid_coords, **labels}
    coords.setdefault("neuroid_id", [f"neuroid{j:04d}" for j in range(n)])
    if np.isnan(values).any() and REPETITION not in dims:
        raise InvalidInputError("responses hold NaN; NaN may only pad missing repetitions (a 'repetition' dim)")
    array = make_responses(values, stimuli.stimulus_ids, dims=dims, neuroid_coords=coords)
    if times is not None:
        if TIME not in dims or len(times) != array.sizes[TIME]:
            raise InvalidInputError(f"{len(times)} times for responses of dims {tuple(dims)} shape {values.shape}")
        array = array.assign_coords({TIME: np.asarray(times, dtype=float)})
    return array


def _rdm(stack: Any, stimuli: StimulusSet) -> RDM:
    if isinstance(stack, RDM):
        if set(stack.stimulus_ids) != set(stimuli.stimulus_ids):
            raise InvalidInputError(f"RDM stimulus ids differ from the stimuli's (e.g. RDM {stack.stimulus_ids[:3]}, "
                                    f"stimuli {stimuli.stimulus_ids[:3]})")
        return stack.reorder(stimuli.stimulus_ids)
    square = np.asarray(stack, dtype=float)
    square = square[None] if square.ndim == 2 else square
    n = len(stimuli)
    if square.ndim != 3 or square.shape[1:] != (n, n):
        raise InvalidInputError(f"RDM stack has shape {np.shape(stack)}; {n} stimuli need (subject, {n}, {n})")
    return RDM.from_square(square, stimuli.stimulus_ids,
                           descriptors=pd.DataFrame({"subject": [str(s) for s in range(len(square))]}))
