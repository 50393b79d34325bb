"""Image networks from torchvision and timm: the architecture of a card, its weights (offline package, a hub
download through ``hub``, or a seeded random initialisation) and its image preprocessing. Video cards of these
sources come back as a `VideoModel` (clip or frame-wise network, see ``video``).

>>> from brainalign.models.catalog import get_card
>>> model = load_vision_model(get_card("squeezenet1_1"))
>>> model.weights_checksum, model.module.training, model.preprocessing.image_size
('random-seed0', False, 224)
"""

from __future__ import annotations

import torch

from brainalign.models.card import ModelCard
from brainalign.models.compat import import_timm, import_torchvision
from brainalign.models.sources.base import ImagePreprocessing, LoadedModel
from brainalign.models.sources.hub import is_hf, weights_path
from brainalign.models.sources.registry import MODEL_SOURCES
from brainalign.models.sources.video import video_model
from brainalign.models.sources.weights import file_checksum, load_state_dict_in_order, offline_weights_path


@MODEL_SOURCES.register("torchvision")
@MODEL_SOURCES.register("timm")
def load_vision_model(card: ModelCard, device: str = "cpu", seed: int = 0) -> LoadedModel:
    """Build the architecture of ``card`` and load its weights; ``weights = "random"`` draws a random initialisation
    with ``seed`` (the same seed always gives the same network)."""
    if card.weights == "hub" and is_hf(card):  # timm's own loader (checkpoint filters, head adaptation)
        path = weights_path(card)
        module = import_timm().create_model(card.architecture, pretrained=True,
                                            pretrained_cfg_overlay={"file": str(path), "source": ""})
        checksum = file_checksum(path)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = _build_architecture(card)
    if card.weights == "random":
        checksum = f"random-seed{seed}"
    elif card.weights == "offline" or (card.weights == "hub" and not is_hf(card)):
        path = offline_weights_path(card) if card.weights == "offline" else weights_path(card)
        load_state_dict_in_order(module, torch.load(path, map_location="cpu", weights_only=True), card)
        checksum = file_checksum(path)
    module = module.eval().to(device)
    image = ImagePreprocessing.from_card(card)
    if card.modality == "video":
        return video_model(card, module, image, checksum, device)
    return LoadedModel(card, module, image, checksum, device)


def _build_architecture(card: ModelCard) -> torch.nn.Module:
    if card.source == "torchvision":  # builder arguments of the weights (e.g. a SWAG ViT's image_size)
        return import_torchvision().models.get_model(card.architecture, weights=None, **card.extra.get("builder", {}))
    return import_timm().create_model(card.architecture, pretrained=False)
