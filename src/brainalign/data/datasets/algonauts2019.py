"""Algonauts 2019 training data: per-subject fMRI RDMs (EVC, IT) and MEG RDMs (an early and a late window) of the
92-image set (Cichy et al. 2014) and the 118-image set (Cichy et al. 2016), 15 subjects each.

Layout (the challenge's ``Training_Data`` folder, unpacked under ``algonauts2019/`` in a mirror or the cache)::

    Training_Data/92_Image_Set/target_fmri.mat   EVC_RDMs, IT_RDMs: subjects × 92 × 92 (1 - Pearson r)
    Training_Data/92_Image_Set/target_meg.mat    MEG_RDMs_early, MEG_RDMs_late: subjects × sessions × 92 × 92
    Training_Data/92_Image_Set/92images/*.jpg    the images, in RDM order (sorted file names)
    (the same for 118_Image_Set / 118images)

The ``.mat`` files are read with scipy (MATLAB v5) or, for MATLAB v7.3 files, with h5py (whose arrays come in
reversed axis order). No checksums are published: the first copy's sha256 is recorded and checked afterwards.

Confirmed from the challenge devkit's scoring scripts as copied in ``donalddop/Algonauts`` (``testSub_meg.py``,
``testSub_fmri.py``: files ``target_fmri.mat`` / ``target_meg.mat``, variables ``EVC_RDMs``, ``IT_RDMs``,
``MEG_RDMs_early``, ``MEG_RDMs_late``; the same h5py-or-scipy loading with h5py arrays transposed; fMRI one RDM
per subject; MEG a stack of RDMs per subject whose Spearman correlations the devkit averages, the second axis
here called ``session``) and from users' code (``Training_Data/92_Image_Set/92images/*.jpg``,
``118_Image_Set/118images``; 15 subjects for both sets). Not confirmed from code: that the second MEG axis is
the session, the RDM distances (1 - Pearson r for fMRI, decoding accuracy for MEG, from the Algonauts 2019
report) and that RDM rows follow the sorted image file names. The devkit scores the squared Spearman
correlation as a percentage of its noise ceiling; the ``-rsa`` benchmarks use Spearman with a LOSO ceiling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import h5py
import numpy as np
import pandas as pd
import scipy.io

from brainalign.core.errors import InvalidInputError
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile, local_folder
from brainalign.data.rdm import RDM
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import IMAGE_SUFFIXES, StimulusSet, natural_key

CHALLENGE_URL = "http://algonauts.csail.mit.edu/2019/challenge.html"  # the data are downloaded from this page
# region → (file, variable, distance)
REGIONS = {
    "EVC": ("target_fmri.mat", "EVC_RDMs", "correlation"),
    "IT": ("target_fmri.mat", "IT_RDMs", "correlation"),
    "MEG-early": ("target_meg.mat", "MEG_RDMs_early", "decoding-accuracy"),
    "MEG-late": ("target_meg.mat", "MEG_RDMs_late", "decoding-accuracy"),
}


def read_mat_variable(path: Path, name: str) -> np.ndarray:
    """Variable ``name`` of a MATLAB file, v5 (scipy) or v7.3 (HDF5 via h5py, axes put back in MATLAB order).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.mat"
    >>> scipy.io.savemat(path, {"A": np.arange(6.0).reshape(2, 3)})
    >>> read_mat_variable(path, "A").shape
    (2, 3)
    """
    if h5py.is_hdf5(path):  # MATLAB v7.3: an HDF5 file behind a 512-byte MATLAB header
        with h5py.File(path, "r") as f:
            variables = {k: np.asarray(v).transpose() for k, v in f.items() if isinstance(v, h5py.Dataset)}
    else:
        variables = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    if name not in variables:
        raise InvalidInputError(f"{path} has no variable {name!r}; variables: {sorted(variables)}")
    return np.asarray(variables[name], dtype=float)


class Algonauts2019(Dataset):
    """One image set of the Algonauts 2019 training data (subclasses set ``image_set``)."""

    image_set: ClassVar[str]
    folder = "algonauts2019"
    citation = ("Cichy, Roig, Andonian, Dwivedi, Lahner, Lascelles, Mohsenzadeh, Ramakrishnan & Oliva (2019). The "
                "Algonauts Project: a platform for communication between the sciences of biological and artificial "
                "intelligence. arXiv:1905.05675.")
    license = f"Algonauts 2019 challenge data (terms on {CHALLENGE_URL})"
    species = "human"
    modality = "fMRI and MEG RDMs"
    regions = tuple(REGIONS)

    @property
    def files(self) -> tuple[RemoteFile, ...]:  # type: ignore[override]
        """The two RDM files of this image set (the images are unpacked by hand beside them)."""
        return tuple(RemoteFile(f"Training_Data/{self.image_set}_Image_Set/{name}", CHALLENGE_URL, manual=True)
                     for name in ("target_fmri.mat", "target_meg.mat"))

    def stimulus_set(self, **selection: Any) -> StimulusSet:
        """The images in RDM order (sorted file names), ids ``<image_set>/<file stem>``."""
        self._check_selection(selection, {})
        relative = f"Training_Data/{self.image_set}_Image_Set/{self.image_set}images"
        folder = local_folder(self.folder, relative, f"the {self.image_set} images",
                              f"{CHALLENGE_URL} (the training data)")
        paths = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda p: natural_key(p.name))
        if len(paths) != int(self.image_set):
            raise InvalidInputError(f"{folder} holds {len(paths)} images; the {self.image_set}-image set has "
                                    f"{self.image_set}")
        return StimulusSet(self.identifier, self._ids(len(paths)), paths=paths,
                           metadata=pd.DataFrame({"filename": [p.name for p in paths]}))

    def rdms(self, region: str) -> RDM:
        """Per-subject RDMs (descriptor ``subject``, and ``session`` for MEG)."""
        self._check_region(region)
        name, variable, distance = REGIONS[region]
        path = self._fetch(f"Training_Data/{self.image_set}_Image_Set/{name}")
        values = read_mat_variable(path, variable)
        n = int(self.image_set)
        if values.ndim not in (3, 4) or values.shape[-2:] != (n, n):
            raise InvalidInputError(f"{path}: {variable} has shape {values.shape}; expected subjects [× sessions] "
                                    f"× {n} × {n}")
        grid = np.indices(values.shape[:-2]).reshape(values.ndim - 2, -1) + 1
        descriptors = pd.DataFrame(dict(zip(("subject", "session"), grid, strict=False)))
        return RDM.from_square(values.reshape(-1, n, n), self._ids(n), distance, descriptors)

    def _ids(self, n: int) -> list[str]:
        return [f"{self.image_set}/image{i:03d}" for i in range(1, n + 1)]


@register_dataset
class Algonauts2019Set92(Algonauts2019):
    """The 92-image set (Cichy, Pantazis & Oliva 2014): objects, faces, bodies, animals, scenes."""

    identifier = "Algonauts2019-92"
    image_set = "92"
    visual_degrees = 2.9  # images subtended 2.9° (Cichy, Pantazis & Oliva 2014, Methods)


@register_dataset
class Algonauts2019Set118(Algonauts2019):
    """The 118-image set (Cichy, Khosla, Pantazis & Oliva 2016): natural images of 118 object categories."""

    identifier = "Algonauts2019-118"
    image_set = "118"
    visual_degrees = None  # not verified here from the paper's text
