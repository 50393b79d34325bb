"""Model sources beyond torchvision / timm image networks; each turns a `ModelCard` into a `SourceModel`.

- ``base``: `SourceModel`, the hook point through which the `Extractor` runs these models.
- ``hooks``: ``read_layers`` — forward hooks on named submodules with a per-layer readout (pooling).
- ``weights``: state-dict files and model directories on this machine, and their checksums.
- ``text``: transformers / sentence-transformers; token → word → sentence pooling.
- ``video``: frame sampling (PyAV), clip networks and frame-wise image networks, temporal pooling.
- ``onnx``: onnxruntime graphs with intermediate node outputs exposed as layers.
- ``user``: ``register_user_model`` — any torch module, callable or ONNX file, registered at run time.

>>> find_card("all_minilm_l6_v2").source, handles(find_card("all_minilm_l6_v2")), handles(find_card("alexnet"))
('sentence-transformers', True, False)
"""

from __future__ import annotations

from brainalign.core.errors import UnknownNameError
from brainalign.models.card import ModelCard
from brainalign.models.catalog import get_card, list_models

TEXT_SOURCES = ("transformers", "sentence-transformers")


def find_card(identifier: str) -> ModelCard:
    """The card of a model registered at run time (``register_user_model``) or else of the catalog entry."""
    from brainalign.models.sources.user import registered_cards

    user_cards = registered_cards()
    if identifier in user_cards:
        return user_cards[identifier]
    try:
        return get_card(identifier)
    except UnknownNameError:
        raise UnknownNameError("model", identifier, [*list_models(), *user_cards]) from None


def handles(card: ModelCard) -> bool:
    """Whether ``card`` loads through a source here (else: torchvision / timm image loading)."""
    return card.source in (*TEXT_SOURCES, "onnx", "user") or card.modality == "video"


def load(card: ModelCard, device: str = "cpu", seed: int = 0):
    """Load ``card`` through its source (imported on demand: transformers, PyAV and onnxruntime are heavy)."""
    if card.source == "user":
        from brainalign.models.sources.user import load_user_model

        return load_user_model(card, device=device)
    if card.source == "onnx":
        from brainalign.models.sources.onnx import load_onnx_model

        return load_onnx_model(card)
    if card.source in TEXT_SOURCES:
        from brainalign.models.sources.text import load_text_model

        return load_text_model(card, device=device)
    from brainalign.models.sources.video import load_video_model

    return load_video_model(card, device=device, seed=seed)
