"""LeBel et al. (2023): 8 subjects' whole-brain 3T fMRI while listening to ~80 narrative stories (OpenNeuro
ds003020), as preprocessed by the authors: one response matrix per story (TRs × voxels).

Files (the ``derivative`` folder of ds003020, public on OpenNeuro's S3 bucket, under ``lebel2023/``)::

    derivative/respdict.json                          story → N, the number of TRs of its run
    derivative/preprocessed_data/UTS01/<story>.hf5    HDF5, dataset "data": (N - 20) TRs × voxels (float32)
    derivative/TextGrids/<story>.TextGrid             Praat TextGrid: tier 1 phones, tier 2 words (onsets in s)

Timing, as the authors' code builds it (``HuthLab/deep-fMRI-dataset``: ``encoding/ridge_utils/
stimulus_utils.py`` ``load_simulated_trfiles(respdict, tr=2.0, start_time=10.0, pad=5)``, ``DataSequence.
from_grid``, ``encoding/encoding_utils.py`` ``apply_zscore_and_hrf``: features ``[5 + trim:-trim]`` with
``trim=5``, delays 1-4 TRs; ``HuthLab/semantic-decoding`` ``decoding/utils_resp.py`` reads ``hf["data"]``):
the stimulus grid has N - 5 TRs of 2.0 s, TR k spanning ``2k - 10`` to ``2k - 8`` s of the audio (a word
belongs to the TR its onset falls in); its first 10 and last 5 TRs are dropped, so response row j is stimulus
TR ``j + 10``, heard from ``2j + 10`` to ``2j + 12`` s, and a story has N - 20 response rows. That last count is
implied by the authors' code (stimulus and response rows are stacked side by side) and was checked on the real
files by a third party's code in the index (``treasureisland``: N = 414, 394 rows). Words: tier "word...",
without the authors' ``DEFAULT_BAD_WORDS`` (``sentence_start``, ``sentence_end``, ``br``, ``lg``, ``ls``,
``ns``, ``sp``, braces stripped; ``ridge_utils/dsutils.py`` of ``HuthLab/encoding-model-scaling-laws``) and
empty intervals. The scanner's TR is 2.0045 s (``TRFile(expectedtr=2.0045)``); the authors' grid uses 2.0 s.

The stimuli are TRs: stimulus ``<story>/tr0000`` is the text heard up to the end of that response row's TR
(its last ``CONTEXT_WORDS`` words), so any text model gives one feature vector per TR. (Until version 2 of
``LeBel2023.UTS01-ridge`` the texts ended 10 s too late: 2.0045 s TRs counted from 10 TRs after onset, with
respdict's N taken as the row count.) No checksums are published: each file's sha256 is recorded at its first
download and checked afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_responses
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile, fetch, local_copy
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet

S3 = "https://s3.amazonaws.com/openneuro.org/ds003020/"
SUBJECTS = tuple(f"UTS{i:02d}" for i in range(1, 9))
ACQUISITION_TR_S = 2.0045  # the scanner's repetition time (s)
TR_S = 2.0  # the TR of the authors' stimulus grid (load_simulated_trfiles)
SOUND_START_S = 10.0  # stimulus TR 0 starts this long before the audio
FIRST_TR = 10  # stimulus TRs before response row 0 (5 of padding + trim 5)
DROPPED_TRS = 20  # respdict's N minus the response rows: padding 5, trim 10 at the start and 5 at the end
CONTEXT_WORDS = 20
RESPDICT = "derivative/respdict.json"
TEST_STORY = "wheretheressmoke"  # the story presented repeatedly, held out from training in the paper
BAD_WORDS = frozenset({"sentence_start", "sentence_end", "br", "lg", "ls", "ns", "sp", ""})  # dsutils.py, + empty


def read_textgrid_words(path: Path) -> pd.DataFrame:
    """The words of a Praat TextGrid (long text format): columns ``start``, ``end`` (s) and ``word``, without
    ``BAD_WORDS`` (silences and noise marks such as ``sp`` or ``{NS}``). Words come from the first interval tier
    whose name starts with ``word``.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.TextGrid"
    >>> _ = path.write_text('item [1]:\\n name = "words"\\n intervals [1]:\\n xmin = 0\\n xmax = 0.5\\n'
    ...                     ' text = "sp"\\n intervals [2]:\\n xmin = 0.5\\n xmax = 0.9\\n text = "HELLO"\\n')
    >>> read_textgrid_words(path).values.tolist()
    [[0.5, 0.9, 'hello']]
    """
    rows, tier, interval = [], None, {}
    for line in path.read_text(errors="replace").splitlines():
        key, _, value = (part.strip() for part in line.partition("="))
        value = value.strip('"')
        if key == "name":
            tier = value.lower()
        elif tier is not None and tier.startswith("word") and key in ("xmin", "xmax", "text"):
            interval[key] = value
            if key == "text" and "xmin" in interval and "xmax" in interval:
                if value.lower().strip("{}").strip() not in BAD_WORDS:
                    rows.append((float(interval["xmin"]), float(interval["xmax"]), value.strip().lower()))
                interval = {}
    if not rows:
        raise InvalidInputError(f"{path} has no word tier (an IntervalTier named 'word...') with words")
    return pd.DataFrame(rows, columns=["start", "end", "word"])


def tr_texts(words: pd.DataFrame, n_trs: int, first_tr: int = FIRST_TR, tr_s: float = TR_S,
             sound_start_s: float = SOUND_START_S, context: int = CONTEXT_WORDS) -> list[str]:
    """For each of ``n_trs`` response rows, the last ``context`` words whose onset falls before the end of its TR
    (stimulus TR ``j + first_tr``, ending ``(j + first_tr + 1) * tr_s - sound_start_s`` s into the audio).

    >>> words = pd.DataFrame({"start": [0.0, 1.0, 2.5], "end": [0.5, 1.5, 3.0], "word": ["a", "b", "c"]})
    >>> tr_texts(words, 2, first_tr=0, sound_start_s=0.0)
    ['a b', 'a b c']
    """
    ends = (np.arange(n_trs) + first_tr + 1) * tr_s - sound_start_s
    counts = np.searchsorted(words["start"].to_numpy(), ends, side="left")
    vocabulary = words["word"].tolist()
    return [" ".join(vocabulary[max(0, c - context):c]) for c in counts]


def make_delayed(features: np.ndarray, delays: tuple[int, ...] = (1, 2, 3, 4)) -> np.ndarray:
    """Finite-impulse-response copies of ``features`` (TRs × units) shifted by each delay in TRs (zeros before the
    start), side by side: the HRF model of voxelwise encoding (Huth et al.).

    >>> make_delayed(np.array([[1.0], [2.0], [3.0]]), (0, 1)).tolist()
    [[1.0, 0.0], [2.0, 1.0], [3.0, 2.0]]
    """
    out = np.zeros((features.shape[0], features.shape[1] * len(delays)), dtype=features.dtype)
    for i, delay in enumerate(delays):
        block = out[:, i * features.shape[1]:(i + 1) * features.shape[1]]
        if delay >= 0:
            block[delay:] = features[:features.shape[0] - delay]
        else:
            block[:delay] = features[-delay:]
    return out


def story_splits(stories: np.ndarray, n_splits: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds that hold out whole stories (stories dealt to folds in order of appearance).

    >>> [test.tolist() for _, test in story_splits(np.array(["a", "a", "b", "c"]), 3)]
    [[0, 1], [2], [3]]
    """
    names = list(dict.fromkeys(stories.tolist()))
    if len(names) < n_splits:
        raise InvalidInputError(f"{n_splits} story-grouped folds need at least {n_splits} stories; got {len(names)}")
    fold_of = {name: i % n_splits for i, name in enumerate(names)}
    folds = np.array([fold_of[s] for s in stories.tolist()])
    return [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(n_splits)]


@register_dataset
class LeBel2023(Dataset):
    """Narrative-listening fMRI: ``responses("cortex", subject="UTS01", stories=...)`` is TR × voxel for the given
    stories, one after the other, each TR labelled with its ``story``; ``stimulus_set`` gives the TR texts."""

    identifier = "LeBel2023"
    folder = "lebel2023"
    citation = ("LeBel, Wagner, Jain, Adhikari-Desai, Gupta, Morgenthal, Tang, Xu & Huth (2023). A natural language "
                "fMRI dataset for voxelwise encoding models. Sci Data 10:555. OpenNeuro ds003020.")
    license = "CC0 (OpenNeuro ds003020)"
    species = "human"
    modality = f"fMRI (3T, whole brain, TR {ACQUISITION_TR_S} s)"
    regions = ("cortex",)
    visual_degrees = None  # auditory stimuli
    subjects = SUBJECTS

    @property
    def files(self) -> tuple[RemoteFile, ...]:  # type: ignore[override]
        """``respdict.json`` and, once it is here, every story's TextGrid; a subject's response files are fetched
        when first used (``_file``), as not every subject heard every story."""
        respdict = RemoteFile(RESPDICT, S3 + RESPDICT)
        local = local_copy(self.folder, respdict)
        stories = sorted(json.loads(local.read_text())) if local is not None else []
        return (respdict, *(RemoteFile(path, S3 + path) for path in map(_textgrid, stories)))

    def stories(self) -> list[str]:
        """Every story with responses (``respdict.json``), sorted."""
        return sorted(json.loads(self._file(RESPDICT).read_text()))

    def stimulus_set(self, subject: str = "UTS01", stories: str | tuple[str, ...] = "all",
                     **selection: Any) -> StimulusSet:
        """One text stimulus per response TR (see the module docstring)."""
        names, n_trs = self._selected(subject, stories, selection)
        texts, ids, story_of = [], [], []
        for story in names:
            words = read_textgrid_words(self._file(_textgrid(story)))
            texts += tr_texts(words, n_trs[story])
            ids += [f"{story}/tr{t:04d}" for t in range(n_trs[story])]
            story_of += [story] * n_trs[story]
        return StimulusSet(f"{self.identifier}.{subject}", ids, texts=texts, modality="text",
                           metadata=pd.DataFrame({"story": story_of}))

    def responses(self, region: str, subject: str = "UTS01", stories: str | tuple[str, ...] = "all",
                  **selection: Any) -> xr.DataArray:
        """TR × voxel responses of the selected stories, concatenated (``story`` coordinate per TR)."""
        self._check_region(region)
        names, n_trs = self._selected(subject, stories, selection)
        parts = []
        for story in names:
            path = self._file(f"derivative/preprocessed_data/{subject}/{story}.hf5")
            with h5py.File(path, "r") as f:
                if "data" not in f:
                    raise InvalidInputError(f"{path} has no dataset 'data'; found {sorted(f)}")
                data = np.asarray(f["data"], dtype=np.float32)
            if data.shape[0] != n_trs[story] or (parts and data.shape[1] != parts[0].shape[1]):
                raise InvalidInputError(f"{path}: data of shape {data.shape}; respdict.json gives "
                                        f"{n_trs[story] + DROPPED_TRS} TRs, so {n_trs[story]} response rows"
                                        + (f", and earlier stories {parts[0].shape[1]} voxels" if parts else ""))
            parts.append(data)
        values = np.concatenate(parts)
        ids = [f"{story}/tr{t:04d}" for story in names for t in range(n_trs[story])]
        responses = make_responses(
            values, ids, neuroid_coords={"neuroid_id": [f"{subject}/voxel{v}" for v in range(values.shape[1])],
                                         "subject": [subject] * values.shape[1]},
            attrs={"dataset": self.identifier, "region": region, "subject": subject, "tr_s": ACQUISITION_TR_S})
        return responses.assign_coords(story=("stimulus", [s for s in names for _ in range(n_trs[s])]))

    def _selected(self, subject: str, stories: str | tuple[str, ...],
                  selection: dict[str, Any]) -> tuple[list[str], dict[str, int]]:
        self._check_selection({"subject": subject, **selection}, {"subject": self.subjects})
        n_trs = {k: int(v) - DROPPED_TRS for k, v in json.loads(self._file(RESPDICT).read_text()).items()}
        names = sorted(n_trs) if stories == "all" else list((stories,) if isinstance(stories, str) else stories)
        unknown = [s for s in names if s not in n_trs]
        if unknown:
            raise InvalidInputError(f"unknown stories {unknown[:3]}; valid: {', '.join(sorted(n_trs)[:8])}, ... "
                                    f"({len(n_trs)} stories, see {RESPDICT})")
        return names, n_trs

    def _file(self, path: str) -> Path:
        return fetch(self.folder, RemoteFile(path, S3 + path))


def _textgrid(story: str) -> str:
    return f"derivative/TextGrids/{story}.TextGrid"
