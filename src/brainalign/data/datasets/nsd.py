"""The Natural Scenes Dataset (NSD) in the Algonauts 2023 release: per subject, 7T fMRI betas of ~10,000 images
on the cortical surface ("challenge space"), with visual ROIs and NSD's noise ceilings.

Layout of one subject (as unpacked from the Algonauts 2023 download, in a mirror or the cache under
``nsd_algonauts2023/``)::

    subj01/training_split/training_fmri/{lh,rh}_training_fmri.npy   images × vertices, float32
    subj01/training_split/training_images/train-0001_nsd-00013.png   row i of the fMRI ↔ the i-th image
    subj01/roi_masks/{lh,rh}.prf-visualrois_challenge_space.npy      per vertex: 0 none, 1 V1v, 2 V1d, ... 7 hV4
    subj01/roi_masks/{lh,rh}.streams_challenge_space.npy             per vertex: 0 none, 1 early, ... 7 parietal
    subj01/roi_masks/{lh,rh}.all-vertices_fsaverage_space.npy        fsaverage vertices in challenge space

Confirmed from the Algonauts 2023 devkit code as copied in users' repositories in the index (file and folder
names ``training_split/training_fmri/{lh,rh}_training_fmri.npy``, ``roi_masks/{lh,rh}.<rois>_challenge_space.npy``
with the ``mapping_<rois>.npy`` label dictionaries, image names ``train-NNNN_nsd-NNNNN.png`` whose last five
digits are the NSD id) and from users' NSD code (prf-visualrois labels 1-7 V1v, V1d, V2v, V2d, V3v, V3d, hV4;
streams labels 1-7 early, midventral, midlateral, midparietal, ventral, lateral, parietal;
``{lh,rh}.all-vertices_fsaverage_space.npy`` with NSD's ``fsaverage/betas_fithrf_GLMdenoise_RR/{lh,rh}.ncsnr.mgh``).
The devkit's own repository is not in the index.

The fMRI arrays are memory-mapped and only an ROI's columns are copied, a block of rows at a time, so one ROI
of an NSD-scale subject (10,000 × 40,000 float32) loads in a fraction of its 1.6 GB
(``benchmarks/bench_nsd_memory.py``). Noise ceilings: NSD's per-vertex ncsnr (fsaverage ``{lh,rh}.ncsnr.mgh``,
public on NSD's S3 bucket) mapped to challenge space, as the fraction of variance explainable with 3 trials
averaged (`brainalign.metrics.ceilings.reliability.nsd_noise_ceiling`). ``images="shared1000"`` keeps the images
of NSD's shared 1,000 (``sharedix`` of ``nsd_expdesign.mat``) that are in the subject's training split.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.io
import xarray as xr
from tqdm.auto import tqdm

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_responses
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile, local_folder
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet

ALGONAUTS_URL = "https://algonauts.csail.mit.edu/challenge.html"  # the data are handed out through a form there
NSD_S3 = "https://natural-scenes-dataset.s3.amazonaws.com/"
SUBJECTS = tuple(f"subj{i:02d}" for i in range(1, 9))
HEMISPHERES = ("lh", "rh")
# region → (Algonauts ROI file, labels of that file's integer map; the published mapping_*.npy dictionaries)
ROI_LABELS = {
    "V1": ("prf-visualrois", (1, 2)), "V2": ("prf-visualrois", (3, 4)), "V3": ("prf-visualrois", (5, 6)),
    "hV4": ("prf-visualrois", (7,)),
    **{stream: ("streams", (label,)) for label, stream in enumerate(
        ("early", "midventral", "midlateral", "midparietal", "ventral", "lateral", "parietal"), start=1)},
}
IMAGE_SETS = ("all", "shared1000")
N_TRIALS = 3  # each NSD image was shown up to 3 times; the released betas average them
ROWS_PER_BLOCK = 512
EXPDESIGN = "nsd_expdesign.mat"


def _fmri(subject: str, hemisphere: str) -> str:
    return f"{subject}/training_split/training_fmri/{hemisphere}_training_fmri.npy"


def _roi_map(subject: str, hemisphere: str, kind: str) -> str:
    return f"{subject}/roi_masks/{hemisphere}.{kind}_challenge_space.npy"


def _fsaverage_mask(subject: str, hemisphere: str) -> str:
    return f"{subject}/roi_masks/{hemisphere}.all-vertices_fsaverage_space.npy"


def _ncsnr(subject: str, hemisphere: str) -> str:
    return f"{subject}/ncsnr/{hemisphere}.ncsnr.mgh"


def _subject_files(subject: str) -> tuple[RemoteFile, ...]:
    manual = [_fmri(subject, h) for h in HEMISPHERES] + [_fsaverage_mask(subject, h) for h in HEMISPHERES] + [
        _roi_map(subject, h, kind) for h in HEMISPHERES for kind in ("prf-visualrois", "streams")]
    ncsnr = [RemoteFile(_ncsnr(subject, h), f"{NSD_S3}nsddata_betas/ppdata/{subject}/fsaverage/"
                           f"betas_fithrf_GLMdenoise_RR/{h}.ncsnr.mgh") for h in HEMISPHERES]
    return (*(RemoteFile(path, ALGONAUTS_URL, manual=True) for path in manual), *ncsnr)


def roi_columns(path: Path, columns: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """``array[rows][:, columns]`` of a 2-D ``.npy`` file, read through a memory map one block of rows at a time
    (each block maps the file afresh, so pages already copied are released).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.npy"
    >>> np.save(path, np.arange(12.0).reshape(3, 4))
    >>> roi_columns(path, np.array([1, 3]), rows=np.array([2, 0])).tolist()
    [[9.0, 11.0], [1.0, 3.0]]
    """
    shape = np.load(path, mmap_mode="r").shape
    rows = np.arange(shape[0]) if rows is None else np.asarray(rows)
    out = np.empty((len(rows), len(columns)), dtype=np.float32)
    blocks = range(0, len(rows), ROWS_PER_BLOCK)
    for start in tqdm(blocks, desc=path.name, disable=None if len(blocks) > 4 else True):
        block = rows[start:start + ROWS_PER_BLOCK]
        out[start:start + len(block)] = np.load(path, mmap_mode="r")[block][:, columns]
    return out


@register_dataset
class NSD(Dataset):
    """Natural Scenes Dataset, Algonauts 2023 release: 8 subjects, challenge-space vertices of visual ROIs.

    ``responses(region, subject="subj01", images="all")`` is stimulus × vertex (both hemispheres, ``hemisphere``
    and ``vertex`` coordinates); ``ceiling(region, subject)`` the per-vertex NSD noise ceiling (variance units).
    """

    identifier = "NSD"
    folder = "nsd_algonauts2023"
    citation = ("Allen, St-Yves, Wu, Breedlove, Prince, Dowdle, Nau, Caron, Pestilli, Charest, Hutchinson, "
                "Naselaris & Kay (2022). A massive 7T fMRI dataset to bridge cognitive neuroscience and artificial "
                "intelligence. Nat Neurosci 25:116-126; Gifford et al. (2023). The Algonauts Project 2023 "
                "Challenge: How the Human Brain Makes Sense of Natural Scenes. arXiv:2301.03198.")
    license = "NSD Terms and Conditions (free for research after agreeing to them; no redistribution)"
    species = "human"
    modality = "fMRI (7T, GLMsingle betas on the cortical surface)"
    regions = tuple(ROI_LABELS)
    visual_degrees = 8.4  # images subtended 8.4° x 8.4° (Allen et al. 2022, Methods)
    subjects = SUBJECTS
    files = (*(f for s in SUBJECTS for f in _subject_files(s)),
             RemoteFile(EXPDESIGN, f"{NSD_S3}nsddata/experiments/nsd/{EXPDESIGN}"))

    def stimulus_set(self, subject: str = "subj01", images: str = "all", **selection: Any) -> StimulusSet:
        """The subject's training images (in fMRI row order), ids ``nsd-<NSD 0-based image index>``."""
        paths, rows, _ = self._images(subject, images, selection)
        ids = [f"nsd-{_nsd_index(p):05d}" for p in paths]
        return StimulusSet(f"{self.identifier}.{subject}.{images}", ids, paths=paths,
                           metadata=pd.DataFrame({"subject": subject, "row": rows,
                                                  "filename": [p.name for p in paths]}))

    def responses(self, region: str, subject: str = "subj01", images: str = "all", **selection: Any) -> xr.DataArray:
        """Betas of the vertices of ``region`` (both hemispheres), memory-mapped and copied per ROI."""
        self._check_region(region)
        paths, rows, n_images = self._images(subject, images, selection)
        parts, hemisphere, vertex = [], [], []
        for h in HEMISPHERES:
            columns = self._columns(region, subject, h)
            fmri = self._fetch(_fmri(subject, h))
            n_rows = np.load(fmri, mmap_mode="r").shape[0]
            if n_rows != n_images:
                raise InvalidInputError(f"{fmri} has {n_rows} rows but {subject} has {n_images} training images; "
                                        "the files do not belong together")
            parts.append(roi_columns(fmri, columns, rows))
            hemisphere += [h] * len(columns)
            vertex += columns.tolist()
        values = np.concatenate(parts, axis=1)
        return make_responses(
            values, [f"nsd-{_nsd_index(p):05d}" for p in paths],
            neuroid_coords={"neuroid_id": [f"{subject}/{h}/{v}" for h, v in zip(hemisphere, vertex, strict=True)],
                            "hemisphere": hemisphere, "vertex": vertex, "subject": [subject] * len(vertex),
                            "region": [region] * len(vertex)},
            attrs={"dataset": self.identifier, "region": region, "subject": subject, "images": images})

    def ceiling(self, region: str, subject: str = "subj01", images: str = "all", **selection: Any) -> np.ndarray:
        """Per-vertex noise ceiling of ``region`` (fraction of variance, ``ncsnr² / (ncsnr² + 1/3)``), in the
        vertex order of :meth:`responses` (the same for every image set)."""
        import nibabel

        from brainalign.metrics.ceilings.reliability import nsd_noise_ceiling

        self._check_region(region)
        self._check_selection({"subject": subject, "images": images, **selection},
                              {"subject": self.subjects, "images": IMAGE_SETS})
        ceilings = []
        for h in HEMISPHERES:
            ncsnr = np.asarray(nibabel.load(self._fetch(_ncsnr(subject, h))).get_fdata(), dtype=float).ravel()
            in_challenge = np.load(self._fetch(_fsaverage_mask(subject, h))).astype(bool)
            if in_challenge.size != ncsnr.size:
                raise InvalidInputError(f"{_ncsnr(subject, h)} has {ncsnr.size} fsaverage vertices, the challenge "
                                        f"mask {in_challenge.size}; both must be fsaverage (163,842 per hemisphere)")
            ceilings.append(nsd_noise_ceiling(ncsnr[in_challenge][self._columns(region, subject, h)], N_TRIALS))
        return np.concatenate(ceilings)

    def _columns(self, region: str, subject: str, hemisphere: str) -> np.ndarray:
        kind, labels = ROI_LABELS[region]
        return np.flatnonzero(np.isin(np.load(self._fetch(_roi_map(subject, hemisphere, kind))), labels))

    def _images(self, subject: str, images: str, selection: dict[str, Any]) -> tuple[list[Path], np.ndarray, int]:
        """The selected images, their fMRI rows, and the subject's number of training images."""
        self._check_selection({"subject": subject, "images": images, **selection},
                              {"subject": self.subjects, "images": IMAGE_SETS})
        paths = self._image_paths(subject)
        rows = np.arange(len(paths))
        if images == "shared1000":
            shared = self._shared1000()
            rows = np.array([i for i, p in enumerate(paths) if _nsd_index(p) in shared], dtype=int)
        return [paths[i] for i in rows], rows, len(paths)

    def _shared1000(self) -> set[int]:
        design = scipy.io.loadmat(self._fetch(EXPDESIGN), squeeze_me=True)
        return {int(i) - 1 for i in np.ravel(design["sharedix"])}  # MATLAB's 1-based indices → 0-based

    def _image_paths(self, subject: str) -> list[Path]:
        folder = local_folder(self.folder, f"{subject}/training_split/training_images",
                              f"the training images of {subject}", f"{ALGONAUTS_URL} (the Algonauts 2023 data)")
        paths = sorted(folder.glob("train-*_nsd-*.png"))
        if not paths:
            raise InvalidInputError(f"{folder} holds no Algonauts images (train-<n>_nsd-<index>.png)")
        return paths


def _nsd_index(path: Path) -> int:
    match = re.search(r"nsd-(\d+)", path.name)
    if match is None:
        raise InvalidInputError(f"{path.name} is not an Algonauts image name (train-<n>_nsd-<index>.png)")
    return int(match.group(1))
