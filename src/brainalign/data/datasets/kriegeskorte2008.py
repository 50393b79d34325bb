"""Kriegeskorte et al. (2008): 92 object images; human IT fMRI, monkey IT and similarity-judgement RDMs.

Files come from the rsatoolbox demo data (``demos/92imageData``). Regions: ``hIT`` (4 subjects × 2 sessions,
316-voxel RDMs), ``mIT`` (one RDM from 674 monkey IT neurons), ``behavior`` (16 subjects' similarity judgements).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.io
from PIL import Image

from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile
from brainalign.data.rdm import RDM
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet, write_images

_URL = ("https://raw.githubusercontent.com/rsagroup/rsatoolbox/f1f83cadb7243492a1aae7460466e0f0140b20ac/"
        "demos/92imageData/")
_SUPPLEMENT = "Kriegeskorte_Neuron2008_supplementalData.mat"
_BRAIN = "92_brainRDMs.mat"
_BEHAVIOR = "92_behavRDMs.mat"
_SHA256 = {
    _BEHAVIOR: "7a8e118c144c3840adeeeef6ea0706a0be2b3e80df719af15fbb56fc62562f5f",
    _BRAIN: "1743f90a15e895798a94318649e80e1123a7e5943a1703fa1dd7c31ea5780b7c",
    "92_modelRDMs.mat": "e1d2b58bb2f9508bc13da4c81b94d1ab07823b25ed30b9563bd9d6d730c2a00a",
    _SUPPLEMENT: "06f21214399a5d43dc264eed19a7f4b8daf11c8622a59eec3e106064ce5e3504",
}


def _loadmat(path) -> dict[str, Any]:
    return scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)


@register_dataset
class Kriegeskorte2008(Dataset):
    """92 images of faces, bodies, animals, natural and man-made objects (Kriegeskorte et al. 2008, Neuron).

    The human IT RDMs are 1 − Pearson correlation of voxel response patterns; the monkey IT RDM is the one of
    Figure 1 of the paper (674 neurons, Kiani et al. 2007); ``behavior`` holds dissimilarity judgements.
    """

    identifier = "Kriegeskorte2008"
    folder = "kriegeskorte2008"
    citation = ("Kriegeskorte, Mur, Ruff, Kiani, Bodurka, Esteky, Tanaka & Bandettini (2008). Matching categorical "
                "object representations in inferior temporal cortex of man and monkey. Neuron 60:1126-1141.")
    license = "MIT (rsatoolbox demo data)"
    species = "human and macaque"
    modality = "fMRI (hIT), spikes (mIT), behavior"
    regions = ("hIT", "mIT", "behavior")
    visual_degrees = 2.9  # image width in the human fMRI experiment (paper, Methods)
    files = tuple(RemoteFile(name, _URL + name, sha) for name, sha in _SHA256.items())

    def stimulus_set(self, **selection: Any) -> StimulusSet:
        """The 92 images (PNG files in the cache) with their category labels as metadata."""
        self._check_selection(selection, {})
        stimuli = self._supplement["stimuli_92objs"]
        names = [f"img{i + 1:02d}" for i in range(len(stimuli))]
        paths = write_images(
            self._image_dir(_SUPPLEMENT),
            [(f"{name}.png", lambda s=s: Image.fromarray(np.ascontiguousarray(s.image), "RGB"))
             for name, s in zip(names, stimuli, strict=True)],
        )
        metadata = pd.DataFrame({
            "category": [s.category for s in stimuli],
            **{field: [bool(getattr(s, field)) for s in stimuli] for field in ("human", "face", "animal", "natural")},
        })
        vectors = self._supplement["categoryVectors"].astype(bool)
        for column, label in enumerate(self._supplement["categoryLabels"]):
            metadata[f"is_{label}"] = vectors[:, column]
        return StimulusSet(self.identifier, [f"{self.folder}/{n}" for n in names], paths=paths, metadata=metadata)

    def rdms(self, region: str) -> RDM:
        """``hIT``: 8 RDMs (descriptors ``subject``, ``session``); ``mIT``: 1 RDM; ``behavior``: 16 (``subject``)."""
        self._check_region(region)
        ids = [f"{self.folder}/img{i + 1:02d}" for i in range(92)]
        if region == "mIT":
            monkey = next(s for s in self._supplement["RDMs_mIT_hIT_fig1"] if s.name.startswith("mIT"))
            return RDM(np.asarray(monkey.RDM, dtype=float)[None], ids, "correlation",
                       pd.DataFrame({"subject": ["monkey"], "name": [monkey.name]}))
        if region == "hIT":
            structs = _loadmat(self._fetch(_BRAIN))["RDMs"].ravel()  # (4 subjects, 2 sessions), row-major
            distance = "correlation"
        else:
            structs = _loadmat(self._fetch(_BEHAVIOR))["rdms_behav_92"].ravel()
            distance = "dissimilarity-judgement"
        descriptors = pd.DataFrame([_parse_name(s.name) for s in structs])
        return RDM.from_square(np.stack([s.RDM for s in structs]), ids, distance, descriptors)

    @cached_property
    def _supplement(self) -> dict[str, Any]:
        return _loadmat(self._fetch(_SUPPLEMENT))


def _parse_name(name: str) -> dict[str, Any]:
    """``"hIT | BE | Session: 1"`` → subject BE, session 1; ``"simJudge | subject3"`` → subject subject3."""
    parts = [p.strip() for p in name.split("|")]
    described: dict[str, Any] = {"subject": parts[1], "name": name}
    for part in parts[2:]:
        key, _, value = part.partition(":")
        described[key.strip().lower()] = int(value) if value.strip().isdigit() else value.strip()
    return described
