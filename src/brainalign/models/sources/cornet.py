"""The ``cornet`` model source: CORnet-Z / -RT / -S (``card.architecture`` = ``cornet_z``, ``cornet_rt``,
``cornet_s``) built by `brainalign.models.architectures.cornet`, with weights from a URL (``weights = "hub"``,
fetched and checked against ``weights_sha256``; the authors' URLs are in ``CORNET_WEIGHTS``), a file in an
installed package (``offline``), a file on this machine (``local``) or a seeded random initialisation
(``random``).

The authors' checkpoints were saved from ``torch.nn.DataParallel`` (names prefixed ``module.``); the prefix is
removed before loading by name.

>>> from brainalign.models.card import ModelCard
>>> card = ModelCard(identifier="cornet_z_demo", source="cornet", architecture="cornet_z", family="CNN",
...                  task="image classification", training_data="none", training_method="random",
...                  modality="image", parameters=2071656, default_layers=["IT"], input_size=224)
>>> model = load_cornet(card)
>>> model.weights_checksum, model.module.training
('random-seed0', False)
"""

from __future__ import annotations

import torch

from brainalign.models.architectures.cornet import build_cornet
from brainalign.models.card import ModelCard
from brainalign.models.sources.base import ImagePreprocessing, LoadedModel
from brainalign.models.sources.hub import weights_path
from brainalign.models.sources.registry import MODEL_SOURCES
from brainalign.models.sources.weights import (
    load_state_dict,
    load_state_dict_in_order,
    offline_weights_path,
    path_checksum,
)

DATA_PARALLEL_PREFIX = "module."


@MODEL_SOURCES.register("cornet")
def load_cornet(card: ModelCard, device: str = "cpu", seed: int = 0) -> LoadedModel:
    """The CORnet of ``card`` in eval mode on ``device``; ``seed`` draws the initialisation of random weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = build_cornet(card.architecture)
    if card.weights == "random":
        checksum = f"random-seed{seed}"
    else:
        locate = {"hub": weights_path, "offline": offline_weights_path}.get(card.weights)
        path = locate(card) if locate else card.weights_file
        state = {name.removeprefix(DATA_PARALLEL_PREFIX): tensor for name, tensor in load_state_dict(path).items()}
        load_state_dict_in_order(module, state, card)
        checksum = path_checksum(path)
    return LoadedModel(card, module.eval().to(device), ImagePreprocessing.from_card(card), checksum, device)
