"""Hugging Face models for the sources that read them (audio, CLIP): the model directory of a card and its
network — trained weights, or the architecture of the hub id's config with a seeded random initialisation.

>>> card = ModelCard(identifier="demo_random", source="clip", architecture="org/name", family="multimodal",
...                  task="demo", training_data="none", training_method="random", modality="multimodal",
...                  parameters=0, default_layers=["x"], input_size=224)
>>> lookup = hub_lookup(card)
>>> lookup.weights, lookup.weights_file
('hub', 'org/name')
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from brainalign.models.card import ModelCard
from brainalign.models.compat import import_torchvision
from brainalign.models.sources.text import model_directory
from brainalign.models.sources.weights import path_checksum


def import_transformers() -> ModuleType:
    """transformers, imported after the CPU-torch shim of torchvision, without "weights not used" chatter."""
    import_torchvision()
    import transformers

    transformers.logging.set_verbosity_error()
    return transformers


def hub_lookup(card: ModelCard) -> ModelCard:
    """The card that locates the files (config, processors) of ``card``'s hub id ``architecture``: how a random
    twin finds the architecture it initialises."""
    return dataclasses.replace(card, weights="hub", weights_file=card.architecture, training_method="supervised")


def load_pretrained(card: ModelCard, seed: int = 0) -> tuple[Any, Path, str]:
    """``(model, model directory, weights checksum)`` of a card whose ``architecture`` is a hub id: trained weights
    from `model_directory` (offline package, local directory, mirror, Hugging Face cache), or for
    ``weights = "random"`` the config's architecture initialised with ``seed`` (checksum ``random-seed<seed>``)."""
    transformers = import_transformers()
    if card.weights != "random":
        location = model_directory(card)
        model = transformers.AutoModel.from_pretrained(location, local_files_only=True)
        return model, location, path_checksum(location)
    location = model_directory(hub_lookup(card))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = transformers.AutoModel.from_config(transformers.AutoConfig.from_pretrained(location))
    return model, location, f"random-seed{seed}"
