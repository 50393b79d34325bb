"""Every architecture family of the generated catalog instantiates (seeded random twin: no download), has the
parameter count and layers its card states, and runs a forward pass on a tiny input. The smallest entry of each
(source, family, modality) runs in the fast suite; the smallest of every other timm module / torchvision builder
module is marked slow."""

from __future__ import annotations

import json

import pytest
import torch

from brainalign.models import catalog, catalog_generator
from brainalign.models.compat import import_timm, import_torchvision
from brainalign.models.extractor import Extractor
from brainalign.models.loading import list_layers, load_model

GENERATED = [e for e in json.loads(catalog.GENERATED_FILE.read_text()) if e["source"] in ("timm", "torchvision")]
FIXED_SIZE_FAMILIES = ("ViT", "hybrid", "MLP", "recurrent")
FAST_PARAMETERS = 30_000_000


def _module_of(entry: dict) -> str:
    if entry["source"] == "torchvision":
        return import_torchvision().models.get_model_builder(entry["architecture"]).__module__
    return _timm_modules()[entry["architecture"].split(".", 1)[0]]


def _timm_modules() -> dict[str, str]:
    if not hasattr(_timm_modules, "cache"):
        timm = import_timm()
        _timm_modules.cache = {m: module for module in timm.list_modules() for m in timm.list_models(module=module)}
    return _timm_modules.cache


def _representatives() -> list:
    smallest: dict[tuple, dict] = {}
    for entry in GENERATED:
        key = (entry["source"], _module_of(entry), entry["family"], entry["modality"])
        if key not in smallest or entry["parameters"] < smallest[key]["parameters"]:
            smallest[key] = entry
    fast = {}
    for entry in smallest.values():
        key = (entry["source"], entry["family"], entry["modality"])
        cheap = entry["parameters"] < FAST_PARAMETERS and (entry["modality"] == "image" or entry["family"] == "CNN")
        if cheap and (key not in fast or entry["parameters"] < fast[key]["parameters"]):
            fast[key] = entry
    fast_ids = {e["identifier"] for e in fast.values()}
    return [pytest.param(e["identifier"], id=e["identifier"],
                         marks=() if e["identifier"] in fast_ids else pytest.mark.slow)
            for e in sorted(smallest.values(), key=lambda e: e["identifier"])]


@pytest.mark.parametrize("identifier", _representatives())
def test_family_representative_instantiates_and_runs(identifier):
    torch.set_num_threads(1)
    model = load_model(identifier + "_random", device="cpu")
    card = model.card
    assert sum(p.numel() for p in model.module.parameters()) == card.parameters
    assert set(card.default_layers) <= set(list_layers(model))
    if card.modality == "video":
        with torch.no_grad():
            clip = torch.rand(1, 3, card.extra["n_frames"], card.input_size, card.input_size)
            output = model.module(clip)
        assert output.shape[0] == 1 and torch.isfinite(output).all()
        return
    size = card.input_size if card.family in FIXED_SIZE_FAMILIES else 96  # inception stems need >= 75 px
    outputs = Extractor(model, cache=False, progress=False).extract_batch(torch.rand(1, 3, size, size))
    assert list(outputs) == card.default_layers
    for values in outputs.values():
        assert values.shape[0] == 1 and values.size > 0 and (values == values).all()


@pytest.mark.parametrize("entry", catalog_generator.CURATED, ids=lambda entry: entry[0])
def test_curated_hub_family_runs_a_tiny_config_and_names_real_layers(entry):
    import_torchvision()  # transformers imports torchvision, which needs the CPU-torch shim first
    import transformers

    hub_id, *_, config_name, kwargs = entry
    card = catalog.get_card(hub_id.split("/", 1)[1].lower())
    config_class = getattr(transformers, config_name)
    with torch.device("meta"):
        full = transformers.AutoModel.from_config(config_class(**kwargs))
    assert set(card.default_layers) <= {name for name, _ in full.named_modules()}
    assert sum(p.numel() for p in full.parameters()) == card.parameters
    tiny = config_class(**{**kwargs, **_tiny(config_name)})
    torch.manual_seed(0)
    module = transformers.AutoModel.from_config(tiny).eval()
    inputs = {"input_values": torch.rand(1, 400)} if card.modality == "audio" else {
        "input_ids": torch.tensor([[1, 2, 3, 4]])}
    with torch.no_grad():
        hidden = module(**inputs).last_hidden_state
    frames = 18 if card.modality == "audio" else 4  # 400 samples: (400 - 10) / 5 + 1 = 79, (79 - 8) / 4 + 1 = 18
    assert hidden.shape[:2] == (1, frames) and torch.isfinite(hidden).all()


def _tiny(config_name: str) -> dict:
    sizes = {"GPT2Config": {"n_embd": 16, "n_layer": 2, "n_head": 2},
             "DistilBertConfig": {"dim": 16, "n_layers": 2, "n_heads": 2, "hidden_dim": 32},
             "OPTConfig": {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "ffn_dim": 32,
                           "word_embed_proj_dim": 16}}
    default = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32}
    if config_name in ("Wav2Vec2Config", "HubertConfig"):  # two strided convolutions instead of seven
        default.update(conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=4,
                       num_conv_pos_embedding_groups=2)
    if config_name == "LlamaConfig":
        default["num_key_value_heads"] = 1
    return sizes.get(config_name, default)
