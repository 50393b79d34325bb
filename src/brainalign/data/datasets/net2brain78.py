"""Net2Brain's 78-image fMRI set: 15 subjects' RDMs of early visual cortex (EVC) and inferior temporal cortex (IT).

The files are the test data of the Net2Brain toolbox (``net2brain/tests/data``); each region's ``.npz`` holds
``arr_0`` of shape (15 subjects, 78, 78), indexed like the images ``image_01.jpg … image_78.jpg``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile
from brainalign.data.rdm import RDM
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet

_URL = ("https://raw.githubusercontent.com/cvai-roig-lab/Net2Brain/b59ed47dc88e3c120e43f5726ede126e902843e8/"
        "net2brain/tests/data/")
_RDM_SHA256 = {
    "EVC": "c927ba9793234c4bf4845320ac66fbfbe85ec9afc4df9b12ca2a006dae753672",
    "IT": "b27cc1c7f87428516fabb4a67e0c1aafe3e6a7de4667e35b5b141e3582e53900",
}
_IMAGE_SHA256 = (  # image_01.jpg … image_78.jpg
    "30d2e63e5d7a68dac3df99e0cbc4844df44ef4a7f6fe0e0d4ac5baa6d32ea019",
    "8bdd5e4b246ca79df9f692b4103daf29dcb707a1e0f029c47fdb7a9d1a334e74",
    "e21b0e582660eab7116d0629ace1bc1e9d01c20668f4b3ace99c4a6c5bcbbc0c",
    "8a0302a12f94551d341a01e76a30f614dccedb2a50b878444577958fd6ce87c7",
    "efe100e81b0bc2fe625aa3c56bc98ec6da838ff6f2d329a74ca215590c71f670",
    "e8f92df94aeb33b326b069b3ef1ffaed457f5b28357f3b3c3d35f7c6ff63b9b5",
    "2bc8aaca8c63312fd1d853d261a718f22411a2fe7c279544e13aa33a15edfccb",
    "d2acfc929c7f2a6c46f9e637ada958ea944b09a005e3455b6231237d1603ddae",
    "64c3f778e5e5258510a176d8be35d72e183dd1dbf7470f439d077c94a3baa978",
    "661755225248093c573ca60272f9f274edced7ad2cf5664e3f8166097600536e",
    "d1b91740632811e54a5e995ba90acb67e1db54f790ebe8fbd597aadfa208c2af",
    "ed021fdeddffb68708193902e31c85702a4147e381623d015b6ed63f734f7d62",
    "29e122b5979d45dde7e6a61df32d9d64aa3ff70c034bb38d048ee783df8d028e",
    "60a8cbb13997afa0b78df4fbcfd8f312197177dfe86c3f73d31dde54b08c4aae",
    "9e944f16cd4bdabd073012bc29c90558cfbc8fb6069336680fa96359e60497a7",
    "3c602eeab4e924216984f07620f233075a361428a1f78012c33ae789b8f3b9ba",
    "3a1b90ce18586be23759ebd312734efa2ce50675dc60e5af0bfd2f5b08b37783",
    "f7a936c4b96ee88eb5e155fe49385eea8afc303c18e07adce6824890e9b1415c",
    "c0bf5efb685e1cffce8d9befee11293fddb89b2899181589b73e96c76b26ac58",
    "098c7401b32026b9a0ac82e8e02071a825b5ed8ab12b22082be1d3be8291f5b1",
    "80cf9cf6c409195e5ca33eb297e64943c2d4f26baa1cdb0f0337d643ca5a7933",
    "c93b9ecd9a909a807be888e915370764925b5b2e5d23ef69e236051e8d413950",
    "66140db09d983f1e4a5b5f0d4fdad4d900b8a6715b185c0bee436593c73a6bb2",
    "1c623db6c45a955225f20c43e4cf0f39d4d39a272837458c17eca40bc902b8c5",
    "611586d40d970867060eddeefd3fe70177ba8d89f132514dde27ee48f6487436",
    "3e0ac4d060203e9d00a04162ccc6ba9b655893c414dcd4ac4ab42f091be80e02",
    "84899e20ce2363f9b2803054cf0684464f43dcae4bb1a238334b1e0eb8677cf8",
    "2d74dca48370a72f6b3f6fd5b6e82324f1d32bfb83c369ac23c10858b81d7e46",
    "231765321c8c8add4fc1b2c6c19dc8a6d49c1c518ccfaae15fc88a0845096162",
    "d348716e6ef1e80482118f956b1c1c70af19d4ffd21b4687b315d7144ba9ffbf",
    "a535df4798ca442c164cf89c15f1c0f4af99e488611a14ef93ad5133c346b712",
    "32c69937f56206e9575c16c8ccf9b82280772c6677bc3a9e177c7ed73baeab1a",
    "17e19ccc96daa3bd6bcb0853ffa38ecd3b21b3e7df00231e2bdb98fece3e3d88",
    "154687874955ab87b081641c217545414b63aa306996d5aa5654238a498fcd2b",
    "472dc5e216beced4f21100f2630c1c428c04c267c61ebd3c7260781debeedcea",
    "dbbc72aa836595c7be5f29e124b2cb5948b649702427a2d9141d1bdb54a3c8c0",
    "c4972b7c00b1cb1d5cd1c5a37a9404bffc8611f80f745f35c12a80c8a1b3d627",
    "9894cdc20966804c5ca41168b3e14343c349967b00ab9373e5e0aa0843445097",
    "63884bc6464ee6ca907e486a2a870507bdcb278ea1da770659395e3d15cc6e27",
    "e58175c1b5d244da0fc3c177e1bffe416667bf37fd78425de473f28320d3cddf",
    "8d5abb0537b689a4417cf8735c00eda0487c4fc199e68dff545ed8e7dd2ea4f8",
    "406dea4d8357fd5fa2ed5e6ccc4ce69aa787fa77a20f41a4c230bbfebad5b285",
    "fd804caecb0ee326be1d36ee914a725cb11622ce6adafb324bf3a7cfaf4298fd",
    "012ab3f8cb59de177b3e30563006559d8542ea8aa486477c9dba552cf910e70a",
    "74167b576ed5907a4f52d11535a6020982a1162245739564290d8fce44eab6ed",
    "c9c90a1540378d97a2229f1297c08ef22a2cca131f3df594ad1f9da4e48ebfae",
    "bcb75e20935ad5bb501714ba7e4248928e3ad1c0279cfb033ef4676dea260ce8",
    "f787e42ca5490392aaacf058f5ef10833b1aecee365e544bc24aa5766aebd90e",
    "1e0391f9c522dd1c1ac4e86a4fdaad943aa83427dc0c0ad45ba96f67f73d5458",
    "d41e40fe5d5e6a15ac117c24b85c33c3747cae610dc94c8925beb5804eebc585",
    "dadf1804b90ad9365ed3ee3f8f89c452dd45c82be857f41892e9d5e8a6821656",
    "f460f4cc520243643cdcce62382629a6697eeb6bb10105ad6337c522c66c64a2",
    "56ff677b9bec4ce199f39540e7efad4ddebf5fc1e8d7e679602afa961fd59ab3",
    "981d0d8348e31775070bddc86370567b2ef1184e030956ca380e5080942a7e7e",
    "90eceddef2987516b984ab28c1ceecbcf4b5e1b2313ab83217ab8f3c33c47ff7",
    "098d68d548eebf0a1b421d2a6e76f2f8d67856e34091c2290c89a95141ebea82",
    "861949cb3be70fd21f03989fbe647e6aeb43543bedf002e9acee63f2801624e9",
    "8a79a2d4c33f91085e066d6c27e8cd27d248c1d219fa9d9c8936d203cbc8edb9",
    "61be7db14c7c4e23547bbbbe535aaaa156ed0e65feb50feefff1476e22c352ac",
    "9ce1f6fa2b8f491eebb682d4eb77d3fbec52e8e6a59065362dc7e29a8208303f",
    "536ae8c253c88598c8d698e7a4460c9531ab288aa182bdcc97a4be3f5cbae2ab",
    "6ce5d46c5823f24f8d94ad0623e3f1b9869103c017e5caa878bfa8166c8082c2",
    "863014cc72df5501af25b21058e39e8a90413d55f35a2b7b9da8a5891d4e8dc3",
    "b8741d57815d71c14c32920e2dc133631e155d6f88d7350c4b51c5db6d00d082",
    "bfe4fd1fab9e49a9810865cc7d908a74720e8d04a43092782d98d077facc7074",
    "9f26ab2ebb9f8385b22450ceff22a8d0072c2d87a307e8aa94345c2af796d3c2",
    "b9678d61f18554bdfd040c43369247c12101a6f543cbd91ea5c8931525de9aa2",
    "060fbf6553dc36acc36a5c5e67c7f7bb571910022bb65fc6495a28d566d26adf",
    "0653eb4d3cb6e50cdb0b993e31a2824157ca3bf2f8cc93cde9fd85eff9fa7254",
    "a8aa6b7efbf8642045602571845ff19d1f01b85d017481d7b304e3e5ae63903c",
    "3320f26bc6419dd5418215fdb9595bb47e8ecbc8afcff11001c8ff595f270518",
    "e483a537c73d5f1e4011d945a4d2524d168317203a253983c5598f573cacaae7",
    "2225be5d234e9329c2c359f6360ea8d25f552032e5b463dffa94520869724e5f",
    "f25fe54e6f45ca150f40ab9fc7763c159d56597b7a4ce65d64dbe5c668c37173",
    "043dc44085d5d76f9180752c218ac69c20602771ceb65d3c4f0359ee65c4e585",
    "94ea5cd15126c4370b891e5e289067f2a85737f307dc63ec906775018f358cc7",
    "d9ce76da3c236653ea77378e7d7739ff594220323abe49c38e1100431aa7e2b8",
    "2d4ae82b61345cee476fe705c799d3379ad8d1ebc41ed40e0d9564ea99172ee5",
)


@register_dataset
class Net2Brain78(Dataset):
    """78 natural images with per-subject fMRI RDMs of EVC and IT (15 subjects), from the Net2Brain toolbox."""

    identifier = "Net2Brain78"
    folder = "net2brain78"
    citation = ("Bersch, Dwivedi, Vilas, Cichy & Roig (2022). Net2Brain: a toolbox to compare artificial vision "
                "models with human brain responses. arXiv:2208.09677.")
    license = "BSD-style (Net2Brain)"
    species = "human"
    modality = "fMRI"
    regions = ("EVC", "IT")
    visual_degrees = None  # not stated with the released files
    files = (
        *(RemoteFile(f"fmri_{region}_RDMs.npz", f"{_URL}brain_data/fmri_{region}_RDMs.npz", sha)
          for region, sha in _RDM_SHA256.items()),
        *(RemoteFile(f"stimuli/image_{i:02d}.jpg", f"{_URL}stimuli_data/image_{i:02d}.jpg", sha)
          for i, sha in enumerate(_IMAGE_SHA256, start=1)),
    )

    def stimulus_set(self, **selection: Any) -> StimulusSet:
        """The 78 JPEG images, in RDM order."""
        self._check_selection(selection, {})
        names = [f"image_{i:02d}" for i in range(1, len(_IMAGE_SHA256) + 1)]
        paths = [self._fetch(f"stimuli/{name}.jpg") for name in names]
        return StimulusSet(self.identifier, [f"{self.folder}/{n}" for n in names], paths=paths,
                           metadata=pd.DataFrame({"filename": [p.name for p in paths]}))

    def rdms(self, region: str) -> RDM:
        """The 15 subjects' RDMs of ``region`` (descriptor ``subject``: 1 … 15)."""
        self._check_region(region)
        with np.load(self._fetch(f"fmri_{region}_RDMs.npz")) as archive:
            matrices = archive["arr_0"]
        ids = [f"{self.folder}/image_{i:02d}" for i in range(1, matrices.shape[1] + 1)]
        return RDM.from_square(matrices, ids, "unknown", pd.DataFrame({"subject": np.arange(1, len(matrices) + 1)}))
