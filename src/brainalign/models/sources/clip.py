"""CLIP-style models (the ``clip`` source): transformers ``CLIPModel`` / ``SiglipModel`` with both towers — the image
tower for image stimuli, the text tower for text stimuli.

Layers are the submodules of the whole model: ``vision_model...`` and ``visual_projection`` (image tower),
``text_model...`` and ``text_projection`` (text tower); a layer of the other tower than the stimuli's is an
error naming both lists. Images go through the card's `ImagePreprocessing` (set CLIP's mean / std and bicubic
interpolation in the card); image tokens (clip, token, unit) are pooled by ``token_pooling`` (``mean`` over
tokens, ``cls`` the first token, ``none`` flattened); texts are tokenised and pooled like text models
(`TextPreprocessing`; default: the last token, which is where CLIP and SigLIP pool a sentence).

>>> VISION_TOWER, TEXT_TOWER
(('vision_model', 'visual_projection'), ('text_model', 'text_projection'))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from brainalign.core.errors import InvalidInputError
from brainalign.models.card import ModelCard
from brainalign.models.sources.base import ImagePreprocessing, SourceModel
from brainalign.models.sources.hf import import_transformers, load_pretrained
from brainalign.models.sources.hooks import read_layers
from brainalign.models.sources.registry import MODEL_SOURCES
from brainalign.models.sources.text import TextPreprocessing, pool_tokens

VISION_TOWER = ("vision_model", "visual_projection")
TEXT_TOWER = ("text_model", "text_projection")
TOKEN_POOLINGS = ("mean", "cls", "none")


@dataclass(frozen=True)
class ClipPreprocessing:
    """Image preprocessing and token pooling (image tower), tokenisation and pooling (text tower)."""

    image: ImagePreprocessing
    text: TextPreprocessing = TextPreprocessing(max_length=77, word_pooling=False, pooling="last")
    token_pooling: str = "mean"

    def __post_init__(self) -> None:
        if self.token_pooling not in TOKEN_POOLINGS:
            raise InvalidInputError(f"token pooling {self.token_pooling!r} is not valid; "
                                    f"valid: {', '.join(TOKEN_POOLINGS)}")

    def pool_image_tokens(self, tensor: torch.Tensor) -> torch.Tensor:
        """(image, token, unit) → (image, unit) by ``token_pooling``; other shapes are flattened as they are."""
        if tensor.ndim != 3 or self.token_pooling == "none":
            return tensor
        return tensor.mean(1) if self.token_pooling == "mean" else tensor[:, 0]

    def as_dict(self) -> dict[str, Any]:
        """Every parameter that changes the features."""
        return dataclasses.asdict(self)


@dataclass
class ClipModel(SourceModel):
    """Both towers of a contrastive image-text model; ``tokenizer`` turns texts into the text tower's input."""

    tokenizer: Any = None

    @property
    def accepted_modalities(self) -> tuple[str, ...]:
        return ("image", "text")

    def layer_names(self) -> list[str]:
        return [*self.tower_layers("image"), *self.tower_layers("text")]

    def tower_layers(self, modality: str) -> list[str]:
        """The layers of the tower that reads ``modality`` (``image`` or ``text``) stimuli."""
        tower = VISION_TOWER if modality == "image" else TEXT_TOWER
        return [name for name, _ in self.module.named_modules() if name and name.split(".")[0] in tower]

    def with_pooling(self, **changes: Any) -> ClipModel:
        """The same model with other ``ClipPreprocessing`` fields (``token_pooling``, ``text``)."""
        return dataclasses.replace(self, preprocessing=dataclasses.replace(self.preprocessing, **changes))

    def batch_features(self, stimuli: Any, indices: Sequence[int], layers: Sequence[str]) -> dict[str, np.ndarray]:
        modality = getattr(stimuli, "modality", "image")
        if modality not in self.accepted_modalities:
            raise InvalidInputError(f"model {self.identifier!r} takes image or text stimuli; stimulus set "
                                    f"{stimuli.identifier!r} holds {modality} stimuli")
        valid = self.tower_layers(modality)
        wrong = [layer for layer in layers if layer not in valid]
        if wrong:
            other = self.tower_layers("text" if modality == "image" else "image")
            raise InvalidInputError(
                f"layers {wrong} of model {self.identifier!r} cannot read {modality} stimuli; {modality} layers: "
                f"{', '.join(valid[:8])}, ...; the other tower's layers ({', '.join(other[:3])}, ...) read "
                f"{'text' if modality == 'image' else 'image'} stimuli")
        prep = self.preprocessing
        if modality == "image":
            pixels = torch.stack([prep.image.transform(stimuli.load_image(i)) for i in indices]).to(self.device)
            features, _ = read_layers(self.module, lambda: self.module.get_image_features(pixel_values=pixels),
                                      layers, prep.pool_image_tokens)
            return features
        if stimuli.texts is None:
            raise InvalidInputError(f"stimulus set {stimuli.identifier!r} has no texts for model {self.identifier!r}")
        encoding = self.tokenizer([stimuli.texts[i] for i in indices], padding=True, truncation=True,
                                  max_length=prep.text.max_length, return_tensors="pt")
        word_ids = [encoding.word_ids(row) for row in range(len(indices))]
        inputs = {key: value.to(self.device) for key, value in encoding.items()
                  if key in ("input_ids", "attention_mask")}
        mask = inputs.get("attention_mask", torch.ones_like(inputs["input_ids"]))
        n_tokens = inputs["input_ids"].shape[1]

        def readout(tensor: torch.Tensor) -> torch.Tensor:
            if tensor.ndim == 3 and tensor.shape[1] == n_tokens:
                return pool_tokens(tensor, mask, word_ids, prep.text)
            return tensor

        features, _ = read_layers(self.module, lambda: self.module.get_text_features(**inputs), layers, readout)
        return features


@MODEL_SOURCES.register("clip")
def load_clip_model(card: ModelCard, device: str = "cpu", seed: int = 0) -> ClipModel:
    """Both towers and the tokenizer of a CLIP / SigLIP card (``architecture`` = Hugging Face hub id), in eval mode.

    Weights as for text models; ``random`` initialises the hub id's config with ``seed``. ``card.extra``:
    ``token_pooling`` (image tokens; default mean), ``pooling`` / ``word_pooling`` / ``max_length`` (texts;
    default the last token of at most 77).
    """
    model, location, checksum = load_pretrained(card, seed)
    tokenizer = import_transformers().AutoTokenizer.from_pretrained(location, local_files_only=True)
    text = {k: v for k, v in card.extra.items() if k in ("max_length", "word_pooling", "pooling")}
    preprocessing = ClipPreprocessing(ImagePreprocessing.from_card(card),
                                      dataclasses.replace(ClipPreprocessing.text, **text),
                                      card.extra.get("token_pooling", "mean"))
    return ClipModel(card, model.eval().to(device), preprocessing, checksum, device, tokenizer=tokenizer)
