"""Cowley et al. (2023): macaque V4 spike counts to natural and synthetic images, one recording session at a time.

Files come from ``cowleygroup/V4_compact_models`` (``data_V4_responses``). Each session has a zip of 112×112 JPEGs
(``image0001.jpg`` …) and repeat-averaged responses (neurons × images, spike counts in 100 ms bins); session
210325 also has the raw repeats (neurons × images × 10 repeat slots, NaN where an image had fewer repeats).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.errors import UnknownNameError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, make_responses
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet, extract_images

_URL = ("https://raw.githubusercontent.com/cowleygroup/V4_compact_models/f4552ad9d34a466ebc66658f72a08a8e5038f1cf/"
        "data_V4_responses/")
# session: (animal, split in the paper, sha256 of images_<session>.zip, sha256 of the repeat-averaged responses)
_SESSIONS = {
    "190923": ("WE", "test", "e99a4df1c7476bdc4d565ff4408bc421976ecc3a22c41af6bfd0cfbddb508c0c",
               "741672d36541ce39930c8a3b5bd1cfd33c187aa47b1549c9c5569bc21aa97a28"),
    "190925": ("WE", "train", "765b4d4372302d4ed72c3382d41ece5ca55d7dcc3d84da7402091253529b87d1",
               "2f94d7bcef0f68fecdb7472f509737fafac92477cf6b11a4966162b1b1072529"),
    "190927": ("WE", "train", "d2469cc2caa629d4ed38e8d4964fb1de8c0b29e9937c25ce1c5838bc4e382653",
               "4c3c75ec72bc4bd3f0e22987a7b2e7e962af249d6577e8a6d727ea9075bde034"),
    "190928": ("WE", "train", "6d90fdf2341e038beb57c16ce85f48c3a2bdfd450bc1c6440489529aead0f161",
               "41707e2d31ace45da6d181ad28a91c299971d42430c91cc738602523e7d7eda6"),
    "190929": ("WE", "train", "7fea6a28c092acfa646145813f532b2ea1d5a22a0b1bdade47d392b8f6bfb3f0",
               "18639c9e2b2baed54c4fb22e311d84dafbd986a12069370b1004880a721d2c4a"),
    "201025": ("PE", "test", "3abb63679107665eab7220bdeaf7863832a1df943bf3d7792501f5082a55b2e8",
               "f729f3dc0d29aa38bd380c0da9e39aba916f9e2580949929b65d1714e7217a8a"),
    "210224": ("PE", "validation", "e2690810bee34c2e2821e5dd504c7970f3441579bc57659f27d2c11678b52c6b",
               "4dbb7367707a5ca47ab4cea863bbf4e9765b8409cb30216693721bddfad7abfe"),
    "210225": ("PE", "test", "79bfb1066949a7f7bbd3c632ab420c2230b966b80cade76593d8745aea49b7f6",
               "853f196247504fa2526b507f56ee5237711ed166f295f7cb23ec5441a7bf789b"),
    "210305": ("PE", "train", "9fab651e9c2d0b44091c2ea238c78d68fedf573cd7d4ae6b0545c5d84c121776",
               "00dce8d39558bfc3f5dd55c6f678c05de1b63895d56193379fd7dfe41fc703f0"),
    "210322": ("PE", "train", "a72f357c73381fc6e496403820b38abe38c78b92f6d1c0b7153d6fe6d3986c32",
               "1d643594633c7ad6d5281147bf1742275135507c8b283550e00e7028c65a5373"),
    "210325": ("PE", "test", "992774eca3508a2ad01accb1a31f5f3e3d90248c49f4eec314f2a915a263e454",
               "555e67037182611969ab90da291dcc39601de4411f651a64ad60e90572cf59d3"),
    "210621": ("RA", "train", "aff4d1639a04fb0d964ee09f8e76b07707e8435283c8e0ea47b0fd398ffcc233",
               "28e57e8eefe774b455087a62f039931b9547b2300908a0af85eee5baa49aa1ba"),
}
SPLITS = ("train", "validation", "test")
_RAW_SESSION = "210325"
_RAW_SHA256 = "4008dbbf31a47d9b1b8d8da609f4a7a3433c7071f0e45c611c220b217dd75b76"
DEFAULT_SESSION = _RAW_SESSION


def sessions_in_split(split: str) -> tuple[str, ...]:
    """The released sessions of one split of the paper (``readme_original.txt``'s train/test column).

    >>> sessions_in_split("test")
    ('190923', '201025', '210225', '210325')
    """
    if split not in SPLITS:
        raise UnknownNameError("Cowley2023 split", split, SPLITS)
    return tuple(session for session, (_, in_split, _, _) in _SESSIONS.items() if in_split == split)


def _images(session: str) -> str:
    return f"images/images_{session}.zip"


def _averaged(session: str) -> str:
    return f"responses_repeat_averaged/responses_{session}.npy"


def _raw(session: str) -> str:
    return f"responses_raw/responses_{session}.npy"


@register_dataset
class Cowley2023(Dataset):
    """Macaque V4 responses, one session per call (``session="210325"`` by default, the one with raw repeats).

    ``responses("V4", session=...)`` is stimulus × neuroid × repetition for 210325 (NaN for missing repeats) and
    stimulus × neuroid (repeat-averaged) for the other sessions; neuroids carry ``neuroid_id``, ``session``,
    ``animal`` and ``region``.
    """

    identifier = "Cowley2023"
    folder = "cowley2023_v4"
    citation = ("Cowley, Stan, Pillow & Smith (2023). Compact deep neural network models of visual cortex. "
                "bioRxiv.")
    license = "GPL-3.0"
    species = "macaque"
    modality = "spikes"
    regions = ("V4",)
    # Not stated in the released files (readme_original.txt gives 112x112-pixel images, no angle) nor found in the
    # paper's text available here; left None until a source is cited.
    visual_degrees = None
    sessions = tuple(_SESSIONS)
    files = (
        *(RemoteFile(_images(s), _URL + _images(s), images) for s, (_, _, images, _) in _SESSIONS.items()),
        *(RemoteFile(_averaged(s), _URL + _averaged(s), avg) for s, (_, _, _, avg) in _SESSIONS.items()),
        RemoteFile(_raw(_RAW_SESSION), _URL + _raw(_RAW_SESSION), _RAW_SHA256),
    )

    def stimulus_set(self, session: str = DEFAULT_SESSION, **selection: Any) -> StimulusSet:
        """The images of one session (extracted once into the cache), ids ``<session>/image0001`` …"""
        session = self._session(session, selection)
        paths = extract_images(self._fetch(_images(session)), self._image_dir(_images(session)))
        animal, split, _, _ = _SESSIONS[session]
        return StimulusSet(
            f"{self.identifier}.{session}", [f"{session}/{p.stem}" for p in paths], paths=paths,
            metadata=pd.DataFrame({"session": session, "animal": animal, "split": split,
                                   "filename": [p.name for p in paths]}),
        )

    def responses(self, region: str, session: str = DEFAULT_SESSION, **selection: Any) -> xr.DataArray:
        """Spike counts of one session: raw repeats for 210325, repeat-averaged otherwise."""
        self._check_region(region)
        session = self._session(session, selection)
        if session == _RAW_SESSION:
            values = np.load(self._fetch(_raw(session))).transpose(1, 0, 2)  # (neuron, image, repeat) → image first
            dims: tuple[str, ...] = (STIMULUS, NEUROID, REPETITION)
        else:
            values = np.load(self._fetch(_averaged(session))).T  # (neuron, image) → (image, neuron)
            dims = (STIMULUS, NEUROID)
        n_images, n_neurons = values.shape[:2]
        animal = _SESSIONS[session][0]
        return make_responses(
            values, [f"{session}/image{i:04d}" for i in range(1, n_images + 1)], dims=dims,
            neuroid_coords={
                "neuroid_id": [f"{session}/neuron{j:03d}" for j in range(n_neurons)],
                "session": [session] * n_neurons,
                "animal": [animal] * n_neurons,
                "region": [region] * n_neurons,
            },
            attrs={"dataset": self.identifier, "region": region, "session": session, "unit": "spike count / 100 ms"},
        )

    def _session(self, session: str, selection: dict[str, Any]) -> str:
        self._check_selection({"session": session, **selection}, {"session": self.sessions})
        return str(session)
