"""The model catalog: `ModelCard` entries read from ``catalog.toml`` (hand-made) and ``catalog_generated.json``
(trained weights of torchvision, timm and curated Hugging Face models, written by
`brainalign.models.catalog_generator`), looked up by name or searched by taxonomy.

>>> get_card("efficientnet_lite0").weights, get_card("alexnet").training_status
('offline', 'random')
>>> get_card("vgg11_random").training_method  # the random twin of any entry, derived on the fly
'random'
>>> table = search_models(family="CNN", training_method="random", parameters_max=2_000_000)
>>> "squeezenet1_1" in set(table.identifier)
True
>>> search_models("efficentnet lite0").identifier.iloc[0]
'efficientnet_lite0'
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import json
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.models.card import RANDOM_SUFFIX, ModelCard, random_twin

CATALOG_FILE = Path(__file__).with_name("catalog.toml")
GENERATED_FILE = Path(__file__).with_name("catalog_generated.json")
TAXONOMY = ("source", "architecture", "family", "task", "training_data", "training_method", "modality", "weights",
            "training_status")
COLUMNS = ("identifier", *TAXONOMY, "parameters", "input_size", "default_layers")


@functools.cache
def _cards() -> dict[str, ModelCard]:
    with open(CATALOG_FILE, "rb") as f:
        entries = [(CATALOG_FILE, entry) for entry in tomllib.load(f)["model"]]
    if GENERATED_FILE.is_file():
        entries += [(GENERATED_FILE, entry) for entry in json.loads(GENERATED_FILE.read_text())]
    cards = {}
    for path, entry in entries:
        card = ModelCard(**entry)
        if card.identifier in cards:
            raise InvalidInputError(f"{path}: model {card.identifier!r} is listed twice")
        cards[card.identifier] = card
    return cards


def list_models() -> list[str]:
    """Identifiers of every catalog entry, sorted.

    >>> len(list_models()) >= 100
    True
    """
    return sorted(_cards())


def get_card(identifier: str) -> ModelCard:
    """The card of ``identifier``; an unknown name raises `UnknownNameError` with the closest matches.

    ``<id>_random`` is the catalog entry of that name if there is one, else the random-initialised twin of
    ``<id>`` (`random_twin`: same architecture and preprocessing, ``weights = "random"``, seeded by the loader).
    Derived twins are not listed by `list_models` / `search_models`.

    >>> card = get_card("resnet18_random")
    >>> card.architecture, card.weights, card.training_status
    ('resnet18', 'random', 'random')
    """
    cards = _cards()
    if identifier in cards:
        return cards[identifier]
    base = identifier.removesuffix(RANDOM_SUFFIX)
    if base != identifier and base in cards:
        return random_twin(cards[base])
    raise UnknownNameError("model", identifier, cards)


def has_model(identifier: str) -> bool:
    """Whether `get_card` knows ``identifier`` (a catalog entry or the ``_random`` twin of one).

    >>> has_model("alexnet_random"), has_model("alexnet_randomised")
    (True, False)
    """
    cards = _cards()
    return identifier in cards or identifier.removesuffix(RANDOM_SUFFIX) in cards


def search_models(query: str | None = None, **filters: Any) -> pd.DataFrame:
    """Catalog entries as a table, filtered by taxonomy and ranked by a fuzzy name ``query``.

    ``filters``: any of ``TAXONOMY`` (case-insensitive equality, or a shell pattern with ``*``; e.g.
    ``weights="random"``, ``training_status="ImageNet-1k"``, ``training_data="*ImageNet-21k*"``) plus
    ``parameters_min`` / ``parameters_max``. ``query`` keeps entries whose identifier or architecture contains it
    or resembles it (difflib ratio >= 0.6), best matches first.

    >>> search_models(weights="random", family="CNN", parameters_max=1_500_000).identifier.tolist()
    ['shufflenet_v2_x0_5', 'squeezenet1_0', 'squeezenet1_1']
    """
    valid = (*TAXONOMY, "parameters_min", "parameters_max")
    unknown = [k for k in filters if k not in valid]
    if unknown:
        raise UnknownNameError("search filter", unknown[0], valid)
    rows = []
    for card in _cards().values():
        if not _passes(card, filters):
            continue
        relevance = 1.0 if query is None else _relevance(query, card)
        if relevance > 0:
            rows.append({**{c: getattr(card, c) for c in COLUMNS}, "relevance": relevance})
    table = pd.DataFrame(rows, columns=[*COLUMNS, "relevance"])
    table = table.sort_values(["relevance", "identifier"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)


def _passes(card: ModelCard, filters: dict[str, Any]) -> bool:
    for name, wanted in filters.items():
        if name == "parameters_min" and card.parameters < wanted:
            return False
        if name == "parameters_max" and card.parameters > wanted:
            return False
        if name in TAXONOMY and not fnmatch.fnmatchcase(str(getattr(card, name)).lower(), str(wanted).lower()):
            return False
    return True


def _relevance(query: str, card: ModelCard) -> float:
    """1 + ratio for a substring hit, the difflib ratio if >= 0.6, else 0."""
    needle = _normalise(query)
    best = 0.0
    for name in (card.identifier, card.architecture):
        hay = _normalise(name)
        ratio = difflib.SequenceMatcher(None, needle, hay).ratio()
        best = max(best, 1.0 + ratio if needle in hay else ratio if ratio >= 0.6 else 0.0)
    return best


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(" ", "_")
