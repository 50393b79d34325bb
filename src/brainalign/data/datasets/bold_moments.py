"""The BOLD Moments Dataset (BMD; Lahner et al. 2024): 3T fMRI of 10 subjects watching 1,102 3-second videos
(1,000 training videos shown 3 times, 102 test videos shown 10 times), OpenNeuro ds005165.

Betas (version B: fMRIPrep to MNI152, GLMsingle single-trial betas, normalised per voxel by the training trials'
mean and sd), one pickle per subject, hemisphere and ROI, public on OpenNeuro's S3 bucket::

    derivatives/versionB/MNI152/prepared_allvoxel_pkl/sub-01/sub-01_roi-lEBA_betas_normalized.pkl
        dict: train_data_allvoxel (1000 videos × 3 repetitions × voxels), test_data_allvoxel (102 × 10 × voxels)

Rows are videos in file order (0001 ... 1000, then 1001 ... 1102), repetitions in presentation order. Videos
(password-protected, from the dataset's own page; the BIDS ``stimuli`` folder goes into ``bold_moments/``)::

    stimuli/train/0001.mp4 ... stimuli/train/1000.mp4, stimuli/test/1001.mp4 ... stimuli/test/1102.mp4

Confirmed from the providers' own files: the file tree, names and S3 address from ``OpenNeuroDatasets/ds005165``
(``export.tree/derivatives/versionB/MNI152/prepared_allvoxel_pkl/``, ``stimuli/test/``, and
``download_scripts/download_versionB_MNI152.sh`` of ``blahner/BOLDMomentsDataset``); the dict keys, the ROI names
and the averaging of repetitions over axis 1 from ``examples/ROI_topkstim_versionB.ipynb``; the (video,
repetition, voxel) layout and video order from ``examples/beta_preparation/bmd_organize_betas_versionB_fsLR32k.py``
(the same preparation for another space); the video names from ``sub-01/ses-02/func/*_events.tsv``
(``stim_file`` ``test/1075.mp4``). The sha256 of sub-01's files are their git-annex keys in ds005165
(``SHA256E-s<size>--<sha256>.pkl``); other subjects' files have no recorded checksum here, so the first copy's
sha256 is recorded and checked afterwards (`brainalign.data.fetch`).

Not confirmed: why 22 ROIs are often quoted while the authors' version B notebook lists these 23 (all 46 files
exist for sub-01); whether every other subject has every ROI file (a missing one fails naming its URL); the
visual angle of the videos (``visual_degrees`` is ``None``). Pickles are read only after the checksum check, with
an unpickler that rebuilds nothing but NumPy arrays and built-in containers (`brainalign.data.array_pickle`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.errors import InvalidInputError, OfflineError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, make_responses
from brainalign.data.array_pickle import load_array_pickle
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile, local_folder
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet

OPENNEURO = "https://s3.amazonaws.com/openneuro.org/ds005165/"
BETAS = "derivatives/versionB/MNI152/prepared_allvoxel_pkl"
STIMULUS_PAGE = "https://boldmomentsdataset.csail.mit.edu/stimulus_set"  # terms of use, then a password
SUBJECTS = tuple(f"sub-{i:02d}" for i in range(1, 11))
SPLITS = ("test", "train")
HEMISPHERES = ("both", "l", "r")
ROIS = ("V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "hV4", "EBA", "FFA", "OFA", "STS", "LOC", "PPA", "RSC", "TOS",
        "V3ab", "IPS0", "IPS1-2-3", "7AL", "BA2", "PFt", "PFop", "MT")
COMBINED = {"V1": ("V1v", "V1d"), "V2": ("V2v", "V2d"), "V3": ("V3v", "V3d")}  # whole areas: ventral + dorsal
VIDEOS = {"train": tuple(f"{i:04d}" for i in range(1, 1001)), "test": tuple(f"{i:04d}" for i in range(1001, 1103))}
DATA_KEYS = {split: f"{split}_data_allvoxel" for split in SPLITS}
SUB01_SHA256 = {  # git-annex keys of ds005165 (<hemisphere><ROI> → sha256)
    "l7AL": "c562244040e558de78daef3ceded9fe116c1fdbe86ae08b594a527d24c16ab1d",
    "lBA2": "8d4e230e534a78d5246c80131f8760be4b3d410ac9ba7674e22622ad565529df",
    "lEBA": "2c50e01867b8da616c334043c4f6f07eec4f701dded5eae4844dda41da54c024",
    "lFFA": "6bae5647a9e07b1a18af62e9b29c03dcd3aa2223c7cec49c370fe9779152b970",
    "lIPS0": "db3d309d5b8e3701f45ad156e5b0ba3688a40d89acc6166fbf46e9f35defe1f4",
    "lIPS1-2-3": "141104708814ed789f3e768141f7b95618d87783fe3102c9cbd5d0ffd9cf6aea",
    "lLOC": "94812d6880b94b36634eebbb38a1926d92c9c28480ea2bc64998c8269f73cceb",
    "lMT": "1ecb3e932e3d52b003d77b1349367da8dce320f03cb4337e3b4f9285b1a14258",
    "lOFA": "5abc71f12f160a7d7ab71cee0ab92ee241f45f82fc99098442c6f65d506a580b",
    "lPFop": "6ec5a150b837a279255b5333a2aebc9e857e3379972ea0fd58e88aa0871007eb",
    "lPFt": "08f209e9ac291b85d32992d5bc263d12fa0071986d774fcd13b8fee165ce7e47",
    "lPPA": "b8d74915b85b409b5b37d7b75185aa6269a9adfe0526d0550300db4f8afa52e2",
    "lRSC": "e29f63fc44f6ead1127b793f19ae93dd6c4ec18dbe17068dcba7ddabbdd45616",
    "lSTS": "02e8170db4df9069375a047bdd97fe8f1c6b051b9f5aae18fbbb8f5d0dab166d",
    "lTOS": "a0d531838414936e1d80afd8745b6bc064e48421fe382c8ca86a953486119022",
    "lV1d": "83a8d3e4c478046ebee83f10ebccb266bd647d39f3d1de3be434270b7bc43718",
    "lV1v": "9c0eddf84707f5deba329536883c35622e4f165cc2fb8fee68733415ab661786",
    "lV2d": "3a4096fe92a1d7b2539436369c3c18c2bec8e8774ed55d9b954c77c2b0193db4",
    "lV2v": "430db3d1cb69658b61c4ecd75712ebf05caa857527b2fabfd7bf4cbe3eee18e9",
    "lV3ab": "bd1df1d01a05c7e0d89753b199ea567fe8e5de3b41f44e75b7c06519fa48031b",
    "lV3d": "fef49a69587a0ecbfb505743321852e23f6be3fbe1e370f98bdce73aef11fe1a",
    "lV3v": "6fd85dc09d7a5d56c4e56271819389d2037692f7f4abc77646dc201674718fa3",
    "lhV4": "2a29699c1d51d2416df52470b481abedd3ab6bbd5ece1faf6ab5b6a82857772a",
    "r7AL": "8ebf8eca7337e496f1c572b15ed2cfc060ed4a54eb3158e77f2fe181281f8bc0",
    "rBA2": "00420826a751563aad138ba8199b917a40476dbfa08a5d8a45c37ae3bae3fb25",
    "rEBA": "7900dfccc597d3c0bac301d329a52c4cfb33467ce07d9c83bc9e235fc16e4e6f",
    "rFFA": "2c6466e483911de7773b347351d8542770a92b7cce2887dacc703aff964fe5fc",
    "rIPS0": "44846e8921bd4db1cd085260e9fd8ce288201c98f1b2b26e7e2af7760d64d376",
    "rIPS1-2-3": "3b4b70df089423721f84e657d1550c633bc3b0f0a297bf31e02567d8504106a6",
    "rLOC": "f2a28d4f7ea91dc81e5157b0998174b2dc688e2b5127874a96e698c7b7cfbd52",
    "rMT": "ae7d50f143700e68d4ccd693b03750addcc20615f27731ee62f093101d586ed1",
    "rOFA": "fbccd74b955fb40e5cc14e9c7f8fbbc378ff2e22f506b50ed188f3d8e164f3e3",
    "rPFop": "85702d4c5fca4a3cb89261046842d1728552ddb28b8282af1966275fd681145c",
    "rPFt": "e9b979f990313972b0764a35f609b49e6addc71640fb6e1d1723b6465b4a8a1b",
    "rPPA": "b29aa152314567e3364a0b1ead4699a3f57ab610a87a21ef9812c641cedbe2e0",
    "rRSC": "8e14a65a8c7aad3b022de81ff7077db7bd18ba28b6d5aba142eb996568e248f8",
    "rSTS": "084d2d68c0dfc09c6ede6664261a658c8f460e92eb03caa425c438965517a54e",
    "rTOS": "1ee3067eba57ec0716ea0e884c52309eb2760137e22e21cab074c801331bc2ed",
    "rV1d": "abccd4070d3109b9707872ba1a125d39b826e2e1bc927e2d36676f740d6518ae",
    "rV1v": "9b5f479c121e4484ba54a753ab6eef377d792f7bd1e092dd06e8d1f6e2212e14",
    "rV2d": "b4ea5d56d608c61ed8670e82d995ab13ba934fe0cfc3b0fdba537c09d0dee8c1",
    "rV2v": "727e0fcc8e87cb0f20995ccfd75f6df84429d03eb5bc89c33d593bce88a5dc9c",
    "rV3ab": "494f0ac2a46539af5c20c77b72e641c71c2557686b69e705c377fb608c0f0922",
    "rV3d": "f75a330a6b138f26199e0bde37944df6e252778dfd26ddfb6792c8370f26e845",
    "rV3v": "677eef488ce494ff36456f0f2b404b75e9ba7edbadfa59baa4a96510e56aefa5",
    "rhV4": "16c838d85db3e3b38d25e25f8005a87623211c48aaa6309c636310e8d963f0dc",
}


def betas_path(subject: str, hemisphere_roi: str) -> str:
    """The path of one prepared-betas pickle in the dataset (``hemisphere_roi``: ``l`` or ``r`` + ROI).

    >>> betas_path("sub-01", "lEBA")
    'derivatives/versionB/MNI152/prepared_allvoxel_pkl/sub-01/sub-01_roi-lEBA_betas_normalized.pkl'
    """
    return f"{BETAS}/{subject}/{subject}_roi-{hemisphere_roi}_betas_normalized.pkl"


def video_root(folder: str) -> Path:
    """The BIDS ``stimuli`` folder (``train/`` and ``test/`` videos) of dataset ``folder`` in a mirror or the cache;
    missing, the error says where to get it and where to put it."""
    return local_folder(folder, "stimuli", "the BOLD Moments videos (stimuli/train, stimuli/test)",
                        f"{STIMULUS_PAGE} (agree to its terms of use)")


@register_dataset
class BOLDMoments(Dataset):
    """BOLD Moments: ``responses(roi, subject="sub-01", split="test", hemisphere="both")`` is stimulus × voxel ×
    repetition (test: 102 videos × 10 repetitions; train: 1,000 × 3); ``both`` joins the left then the right
    hemisphere's voxels. Regions: the 23 ROIs of the files, plus ``V1``, ``V2``, ``V3`` (ventral + dorsal part).
    Stimulus ids are the video numbers (``1001``), as in the video file names."""

    identifier = "BOLDMoments"
    folder = "bold_moments"
    citation = ("Lahner, Dwivedi, Iamshchinina, Graumann, Lascelles, Roig, Gifford, Pan, Jin, Ratan Murty, Kay, "
                "Cichy & Oliva (2024). Modeling short visual events through the BOLD Moments video fMRI dataset "
                "and metadata. Nature Communications. doi:10.1038/s41467-024-50310-3; data: OpenNeuro ds005165, "
                "doi:10.18112/openneuro.ds005165.v1.0.2")
    license = "CC0 (OpenNeuro ds005165); videos: the BMD stimulus set's terms of use (research only)"
    species = "human"
    modality = "fMRI (3T, GLMsingle single-trial betas, MNI152 volume)"
    regions = ROIS + tuple(COMBINED)
    visual_degrees = None  # not confirmed from the providers' files
    subjects = SUBJECTS
    files = (*(RemoteFile(betas_path("sub-01", name), OPENNEURO + betas_path("sub-01", name), sha256)
               for name, sha256 in SUB01_SHA256.items()),
             *(RemoteFile(betas_path(s, f"{h}{roi}"), OPENNEURO + betas_path(s, f"{h}{roi}"))  # sha256 recorded
               for s in SUBJECTS[1:] for roi in ROIS for h in ("l", "r")))

    def stimulus_set(self, subject: str = "sub-01", split: str = "test", hemisphere: str = "both",
                     **selection: Any) -> StimulusSet:
        """The videos of ``split`` in the order of :meth:`responses` (the same for every subject)."""
        self._check(subject, split, hemisphere, selection)
        root = video_root(self.folder)
        names = [f"{split}/{video}.mp4" for video in VIDEOS[split]]
        missing = [name for name in names if not (root / name).is_file()]
        if missing:
            raise OfflineError(f"{len(missing)} of the {len(names)} {split} videos are missing from {root} (e.g. "
                               f"{missing[:3]}); download the stimulus set from {STIMULUS_PAGE}")
        return StimulusSet(f"{self.identifier}.{split}", list(VIDEOS[split]), paths=[root / n for n in names],
                           modality="video", metadata=pd.DataFrame({"filename": names, "split": split}))

    def responses(self, region: str, subject: str = "sub-01", split: str = "test", hemisphere: str = "both",
                  **selection: Any) -> xr.DataArray:
        """Normalised single-trial betas of the voxels of ROI ``region`` (``V1``, ``V2``, ``V3``: the ventral then
        the dorsal part, per hemisphere); ``roi`` and ``voxel`` say which file and column each voxel comes from."""
        self._check_region(region)
        self._check(subject, split, hemisphere, selection)
        blocks, labels = [], []
        for side in ("l", "r") if hemisphere == "both" else (hemisphere,):
            for roi in COMBINED.get(region, (region,)):
                betas = self._betas(subject, f"{side}{roi}", split)  # (video, repetition, voxel)
                blocks.append(betas)
                labels += [(side, roi, v) for v in range(betas.shape[2])]
        values = np.concatenate(blocks, axis=2).transpose(0, 2, 1)
        sides, rois, voxels = (list(column) for column in zip(*labels, strict=True))
        return make_responses(values, list(VIDEOS[split]), dims=(STIMULUS, NEUROID, REPETITION),
                              neuroid_coords={"neuroid_id": [f"{subject}/{s}{r}/{v}" for s, r, v in labels],
                                              "hemisphere": sides, "roi": rois, "voxel": voxels,
                                              "subject": [subject] * len(labels), "region": [region] * len(labels)},
                              attrs={"dataset": self.identifier, "region": region, "subject": subject, "split": split,
                                     "hemisphere": hemisphere})

    def _check(self, subject: str, split: str, hemisphere: str, selection: dict[str, Any]) -> None:
        self._check_selection({"subject": subject, "split": split, "hemisphere": hemisphere, **selection},
                              {"subject": self.subjects, "split": SPLITS, "hemisphere": HEMISPHERES})

    def _betas(self, subject: str, hemisphere_roi: str, split: str) -> np.ndarray:
        """One pickle's (video, repetition, voxel) betas of ``split`` as float32, its shape checked."""
        path = self._fetch(betas_path(subject, hemisphere_roi))
        content = load_array_pickle(path)  # after fetch verified the file's checksum
        key = DATA_KEYS[split]
        if not isinstance(content, dict) or key not in content:
            found = sorted(map(str, content)) if isinstance(content, dict) else type(content).__name__
            raise InvalidInputError(f"{path} should hold a dict with key {key!r}; found {found}")
        betas = np.asarray(content[key], dtype=np.float32)
        if betas.ndim != 3 or betas.shape[0] != len(VIDEOS[split]):
            raise InvalidInputError(f"{path}: {key} should be ({len(VIDEOS[split])} videos, repetitions, voxels); "
                                    f"got shape {betas.shape}")
        return betas
