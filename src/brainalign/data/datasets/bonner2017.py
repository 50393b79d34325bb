"""Bonner & Epstein (2017) scenes: per-subject fMRI RDMs of scene-selective and early visual cortex for photographs
of indoor scenes, as Net2Brain distributes them (``DatasetBonnerPNAS2017``, dataset name ``bonner_pnas2017``).

One zip, ``bonner_pnas2017.zip`` (put it at ``<mirror>/bonner2017/bonner_pnas2017.zip``), read without unpacking it
by hand::

    [bonner_pnas2017/]stimuli_data/<image files>   the scenes; RDM rows follow their names in natural order
    [bonner_pnas2017/]brain_data/<roi file>.npz    one file per ROI: arr_0, (subjects, n, n) or (n, n)

Confirmed from Net2Brain's own code (repository ``cvai-roig-lab/Net2Brain``):

* ``net2brain/utils/download_datasets.py``, class ``DatasetBonnerPNAS2017``: the download address (below; earlier
  commits used a Google Drive id and a ``hessenbox-a10.rz.uni-frankfurt.de`` link), the folders ``stimuli_data``
  and ``brain_data`` (newer versions also return ``brain_data_live_study``, a workshop's PPA data; the workshop
  notebook ``notebooks/Workshops/Net2Brain_PPA_VSS_Demo.ipynb`` reads an ``etc/`` folder beside ``stimuli_data``;
  neither is read here). Commit ``3ca293b9`` extracts the zip into its parent folder and then reads
  ``bonner_pnas2017/brain_data`` (a top-level ``bonner_pnas2017/`` folder); newer commits unwrap a single top-level
  folder: both layouts are read.
* ``net2brain/evaluations/rsa.py`` (``RSA.find_datatype`` / ``rsa_fmri``): a brain RDM file is an ``.npz`` whose
  first array is (subjects, images, images) or (images, images); the ROI is the file name without its suffix.
  Read here with `brainalign.data.interop.net2brain.read_rdm_file` (key ``arr_0``, numpy.savez's default, as in
  Net2Brain's own test data; another key is an error naming the keys found).
* ``net2brain/rdm/feature_iterator.py`` (``nsorted``): a Net2Brain user's model RDM rows follow the stimulus file
  names in natural order (``2`` before ``10``), so the brain RDMs it is compared with must too: the images here
  are put in that order.

Confirmed from the Neuromatch Academy loader of the same data (``NeuromatchAcademy/course-content``,
``projects/fMRI/load_bonner_navigational_affordances.ipynb``, by K. Dwivedi, a Net2Brain author): the ROIs are
``EVC``, ``PPA`` and ``OPA``, and the searchlight RDMs have 16 subjects.

NOT confirmed (no listing of the zip is public in the sources searched): the exact ROI file names in
``brain_data/`` (a region's file is the one whose name holds the region as a word, e.g. ``OPA.npz`` or
``fmri_OPA_RDMs.npz``; zero or several matches are an error naming the files), the number of images (read from the
zip and checked against the RDMs) and subjects (read from the RDMs), the RDM distance (``"unknown"``) and the
visual angle of the scenes (``visual_degrees = None``).

No checksum is published: the first copy's sha256 is recorded and every later use is checked against it
(`brainalign.data.fetch`).
"""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from brainalign.core.config import cache_dir
from brainalign.core.errors import InvalidInputError
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile, file_digest_once
from brainalign.data.interop.net2brain import read_rdm_file
from brainalign.data.rdm import RDM
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import IMAGE_SUFFIXES, StimulusSet, natural_key, write_images

NET2BRAIN_URL = "https://next.hessenbox.de/index.php/s/y6TPinCm6aQT8dR/download"  # DatasetBonnerPNAS2017's address
ARCHIVE = "bonner_pnas2017.zip"
STIMULI, BRAIN = "stimuli_data", "brain_data"
REGIONS = ("EVC", "OPA", "PPA")


def archive_members(archive: zipfile.ZipFile, folder: str, suffixes: Iterable[str]) -> list[zipfile.ZipInfo]:
    """The files directly inside a folder named ``folder`` (at any depth, macOS ``__MACOSX`` copies and hidden
    files left out) whose suffix is one of ``suffixes``, in natural name order.

    >>> import io
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, "w") as zf:
    ...     for name in ("top/brain_data/b10.npz", "top/brain_data/b2.npz", "__MACOSX/top/brain_data/._b2.npz"):
    ...         zf.writestr(name, b"")
    >>> [m.filename for m in archive_members(zipfile.ZipFile(buffer), "brain_data", (".npz",))]
    ['top/brain_data/b2.npz', 'top/brain_data/b10.npz']
    """
    wanted = {s.lower() for s in suffixes}
    members = []
    for member in archive.infolist():
        path = PurePosixPath(member.filename)
        if (not member.is_dir() and len(path.parts) >= 2 and path.parts[-2] == folder and "__MACOSX" not in path.parts
                and not path.name.startswith(".") and path.suffix.lower() in wanted):
            members.append(member)
    return sorted(members, key=lambda m: natural_key(PurePosixPath(m.filename).name))


def region_file(names: Iterable[str], region: str) -> str:
    """The one name in ``names`` that holds ``region`` as a word (case-insensitive; words split at anything but
    letters and digits), or an error naming the candidates.

    >>> region_file(["fmri_EVC_RDMs.npz", "fmri_OPA_RDMs.npz"], "opa")
    'fmri_OPA_RDMs.npz'
    """
    names = list(names)
    hits = [n for n in names if region.lower() in re.split(r"[^a-z0-9]+", PurePosixPath(n).stem.lower())]
    if len(hits) != 1:
        raise InvalidInputError(f"{'no' if not hits else len(hits)} RDM file(s) of region {region!r} in "
                                f"{BRAIN}/ ({hits or names}); expected exactly one whose name holds {region!r}")
    return hits[0]


@register_dataset
class Bonner2017(Dataset):
    """Net2Brain's ``bonner_pnas2017``: photographs of indoor scenes and per-subject fMRI RDMs of EVC, OPA and PPA.

    ``rdms(region)`` holds one RDM per subject (descriptor ``subject``: 1, 2, ...), ids ``bonner2017/<image stem>``
    in the order of :meth:`stimulus_set`.
    """

    identifier = "Bonner2017"
    folder = "bonner2017"
    citation = ("Bonner & Epstein (2017). Coding of navigational affordances in the human visual system. PNAS "
                "114:4793-4798. Distributed by Net2Brain: Bersch, Vilas, Dwivedi, Cichy & Roig (2022), "
                "arXiv:2208.09677.")
    license = "not stated with Net2Brain's copy (Net2Brain itself: BSD-style)"
    species = "human"
    modality = "fMRI"
    regions = REGIONS
    visual_degrees = None  # not confirmed from the paper's text
    files = (RemoteFile(ARCHIVE, NET2BRAIN_URL),)

    def rdm_files(self) -> list[str]:
        """The names of the RDM files in the zip's ``brain_data/`` folder."""
        with zipfile.ZipFile(self._archive()) as archive:
            return [PurePosixPath(m.filename).name for m in archive_members(archive, BRAIN, (".npz",))]

    def stimulus_set(self, **selection: Any) -> StimulusSet:
        """The scenes in RDM order (natural order of their file names), unpacked once into the cache."""
        self._check_selection(selection, {})
        paths = self._unpack(STIMULI, IMAGE_SUFFIXES)
        if not paths:
            raise InvalidInputError(f"{self._archive()} holds no images in a {STIMULI}/ folder")
        return StimulusSet(self.identifier, [f"{self.folder}/{p.stem}" for p in paths], paths=paths,
                           metadata=pd.DataFrame({"filename": [p.name for p in paths]}))

    def rdms(self, region: str) -> RDM:
        """The subjects' RDMs of ``region``, rows in the order of the images."""
        self._check_region(region)
        files = self._unpack(BRAIN, (".npz",))
        path = next(p for p in files if p.name == region_file([p.name for p in files], region))
        ids = self.stimulus_set().stimulus_ids
        rdm = read_rdm_file(path, ids)
        subjects = pd.DataFrame({"subject": range(1, rdm.n_rdms + 1)})
        return RDM(rdm.condensed, rdm.stimulus_ids, rdm.distance, subjects)

    def _archive(self) -> Path:
        return self._fetch(ARCHIVE)

    def _unpack(self, folder: str, suffixes: Iterable[str]) -> list[Path]:
        """The files of ``folder`` in the zip, written once (atomically) into a cache folder keyed by the zip's
        sha256."""
        path = self._archive()
        target = cache_dir("data", self.folder, "unpacked", file_digest_once(path)[:16], folder)
        with zipfile.ZipFile(path) as archive:
            members = archive_members(archive, folder, suffixes)
            names = [PurePosixPath(m.filename).name for m in members]
            if len(set(names)) != len(names):
                raise InvalidInputError(f"{path}: {folder}/ folders at several places hold files of the same name")
            return write_images(target, [(name, functools.partial(archive.read, m))
                                         for name, m in zip(names, members, strict=True)])
