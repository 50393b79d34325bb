"""Geirhos et al. (2021): human 16-way object decisions on out-of-distribution images (model-vs-human).

Trials come from ``bethgelab/model-vs-human`` (``raw-data/<dataset>/<dataset>_subject-XX_session_1.csv``, one row
per trial); images from ``rgeirhos/texture-vs-shape`` for the three sets that may be redistributed (cue-conflict,
edge, silhouette). The other 14 datasets derive from ImageNet images and have trials only.

The per-file sha256 digests are read from the folder's ``SHA256SUMS``, itself pinned by its own digest here, so
every file is checked against a digest this module vouches for.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.fetch import RemoteFile
from brainalign.data.manifest import ManifestDataset
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet

_MVH_URL = "https://raw.githubusercontent.com/bethgelab/model-vs-human/79ed7cd1d9ac3a114e71b6638f0a98bdd627316c/"
_TVS_URL = "https://raw.githubusercontent.com/rgeirhos/texture-vs-shape/ccd0c01d42c0a8a834e90ec141e7f24fa915dc23/"
# SHA256SUMS is the mirror's manifest (no public address of its own); its digest pins every other file's digest.
_SUMS = RemoteFile("SHA256SUMS", "", "3074d4a2a08e885e64dfe9d697de6b01649f821cf9727d7afdf7013337322648")

#: The 16 entry-level categories of the experiments (model-vs-human ``get_human_object_recognition_categories``).
CATEGORIES: tuple[str, ...] = ("airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat", "chair",
                               "clock", "dog", "elephant", "keyboard", "knife", "oven", "truck")
#: The 17 experiments (folders of ``raw-data``).
EXPERIMENTS: tuple[str, ...] = (
    "colour", "contrast", "cue-conflict", "edge", "eidolonI", "eidolonII", "eidolonIII", "false-colour", "high-pass",
    "low-pass", "phase-scrambling", "power-equalisation", "rotation", "silhouette", "sketch", "stylized",
    "uniform-noise",
)
#: Experiments whose images are redistributable, and their folder under ``stimuli/``.
IMAGE_FOLDERS = {"cue-conflict": "style-transfer-preprocessed-512", "edge": "edges", "silhouette": "filled-silhouettes"}
NO_RESPONSE = "na"  # a trial the subject did not answer in time
_CSV = re.compile(r"raw-data/(?P<experiment>[^/]+)/(?P=experiment)_subject-\d+_session_\d+\.csv")


def _url(path: str) -> str:
    if path.startswith("stimuli/"):
        return _TVS_URL + path
    return _MVH_URL + ("README.md" if path == "README_model-vs-human.md" else path)


def check_categories(values: Any, what: str = "category") -> None:
    """Raise `UnknownNameError` listing the 16 categories unless every value is one of them.

    >>> check_categories(["dog", "cat"])
    >>> check_categories(["dog", "zebra"])
    Traceback (most recent call last):
    ...
    brainalign.core.errors.UnknownNameError: unknown category 'zebra'; valid: airplane, bear, ...
    """
    unknown = sorted(set(map(str, values)) - set(CATEGORIES))
    if unknown:
        raise UnknownNameError(what, unknown[0], CATEGORIES)


def _texture(imagename: str) -> str:
    """The texture class of a cue-conflict image: the second name of ``<shape><i>-<texture><j>.png``."""
    return re.sub(r"\d+$", "", Path(imagename).stem.split("-")[1])


@register_dataset
class Geirhos2021(ManifestDataset):
    """Human decisions of the 17 model-vs-human experiments.

    ``trials(experiment)`` is the trial table; ``stimulus_set(experiment=...)`` the images of cue-conflict, edge
    or silhouette, ids ``<experiment>/<category>/<file>``, matching the trials' ``stimulus_id``.

    >>> import os, pathlib
    >>> if (pathlib.Path(os.environ.get("BRAINALIGN_MIRROR", "/nonexistent")) / "geirhos2021").is_dir():
    ...     t = Geirhos2021().trials("edge")
    ...     assert len(t) == 1600 and t["subject"].nunique() == 10
    """

    identifier = "Geirhos2021"
    folder = "geirhos2021"
    citation = ("Geirhos, Narayanappa, Mitzkus, Thieringer, Bethge, Wichmann & Brendel (2021). Partial success in "
                "closing the gap between human and machine vision. NeurIPS. Stimuli: Geirhos, Rubisch, Michaelis, "
                "Bethge, Wichmann & Brendel (2019). ImageNet-trained CNNs are biased towards texture; increasing "
                "shape bias improves accuracy and robustness. ICLR.")
    license = "trials: MIT (model-vs-human); images: CC-BY-4.0 (texture-vs-shape)"
    species = "human"
    # Brain-Score's Geirhos2021 benchmarks show the images at 3 degrees (brendel.Geirhos2021*, _visual_degrees = 3)
    visual_degrees = 3.0
    modality = "behavior"
    regions = ("behavior",)
    experiments = EXPERIMENTS

    manifest = _SUMS

    def file_url(self, path: str) -> str:
        return _url(path)

    def trials(self, experiment: str) -> pd.DataFrame:
        """One row per trial of ``experiment``: subject, session, trial, rt, imagename, category (the truth),
        condition, object_response (``"na"`` when unanswered), stimulus_id, and for the image sets ``path``
        (and ``texture`` for cue-conflict)."""
        self._check_selection({"experiment": experiment}, {"experiment": EXPERIMENTS})
        csvs = sorted(f.path for f in self.files if (m := _CSV.fullmatch(f.path)) and m["experiment"] == experiment)
        table = pd.concat([pd.read_csv(self._fetch(p)).rename(columns=str.lower) for p in csvs], ignore_index=True)
        table = table.rename(columns={"subj": "subject"})
        table["condition"] = table["condition"].astype(str)
        check_categories(table["category"])
        check_categories(table.loc[table["object_response"] != NO_RESPONSE, "object_response"], "object_response")
        image = table["imagename"].map(lambda name: "_".join(name.split("_")[6:]))
        table["stimulus_id"] = experiment + "/" + table["category"] + "/" + image
        if experiment == "cue-conflict":
            table["texture"] = image.map(_texture)
            check_categories(table["texture"], "texture")
        if experiment in IMAGE_FOLDERS:
            relative = "stimuli/" + IMAGE_FOLDERS[experiment] + "/" + table["category"] + "/" + image
            table["path"] = [self._image(p) for p in relative]
        return table

    def stimulus_set(self, experiment: str = "cue-conflict", **selection: Any) -> StimulusSet:
        """The distinct images shown in ``experiment`` (cue-conflict, edge or silhouette), sorted by id."""
        self._check_selection({"experiment": experiment, **selection}, {"experiment": tuple(IMAGE_FOLDERS)})
        table = self.trials(experiment).drop_duplicates("stimulus_id").sort_values("stimulus_id")
        columns = ["category", "texture"] if experiment == "cue-conflict" else ["category"]
        return StimulusSet(f"{self.identifier}.{experiment}", list(table["stimulus_id"]), paths=list(table["path"]),
                           metadata=table[columns].reset_index(drop=True))

    def _image(self, path: str) -> Path:
        if path not in self._image_paths:
            raise InvalidInputError(f"image {path!r} of a {self.identifier} trial is not among the dataset's files")
        return self._fetch(path)

    @cached_property
    def _image_paths(self) -> frozenset[str]:
        return frozenset(f.path for f in self.files if f.path.startswith("stimuli/"))
