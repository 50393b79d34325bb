"""Generate the trained-model part of the catalog from the libraries' own registries, offline.

Every torchvision weights enum (``torchvision.models.get_model_weights``: URL with the sha256 prefix in its file
name, parameter count, preprocessing), every timm pretrained tag (``timm.list_models(pretrained=True)`` and its
``pretrained_cfg``: hub id, input size, interpolation, crop_pct, mean/std) and a curated list of Hugging Face hub
ids become `ModelCard` rows with the typed taxonomy (source, family, task, training data and method, modality,
parameters, default layers, preprocessing) and a weights source that resolves to a URL without network.
Architectures are instantiated on the ``meta`` device (no memory, no initialisation) to count parameters and pick
default layers. Hand-made entries of ``catalog.toml`` stay as they are; the result goes to
``catalog_generated.json``, which `brainalign.models.catalog` merges. Regenerate after upgrading timm/torchvision::

    PYTHONPATH=src python -m brainalign.models.catalog_generator            # writes catalog_generated.json

>>> tv = torchvision_cards(["squeezenet1_1"])
>>> [c["identifier"] for c in tv], tv[0]["weights_sha256"], tv[0]["training_data"]
(['squeezenet1_1.imagenet1k_v1'], 'b8a52dc0', 'ImageNet-1k')
>>> card = timm_cards(["resnet18.a1_in1k"])[0]
>>> card["weights_file"], card["input_size"], card["resize_size"], card["interpolation"]
('hf://timm/resnet18.a1_in1k/model.safetensors', 224, 235, 'bicubic')
"""

from __future__ import annotations

import json
import math
import re
import sys
import tomllib
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from brainalign.models.compat import import_timm, import_torchvision

CATALOG_DIR = Path(__file__).parent
GENERATED_FILE = CATALOG_DIR / "catalog_generated.json"
HAND_FILE = CATALOG_DIR / "catalog.toml"
N_BLOCK_LAYERS = 4  # transformer / long block lists: read this many evenly spaced blocks
POOL_LAYERS = ("head.global_pool", "global_pool", "fc_norm", "avgpool", "head.norm", "norm")

# timm tag tokens → the data set they name (a fine-tuned tag names every stage: "in21k_ft_in1k")
DATA_TOKENS = {
    "in1k": "ImageNet-1k", "in21k": "ImageNet-21k", "in22k": "ImageNet-21k", "in12k": "ImageNet-12k",
    "ig1b": "Instagram-1B", "ig": "Instagram-1B", "ig3b": "Instagram-3.5B", "yfcc100m": "YFCC100M",
    "jft": "JFT-300M", "jft300m": "JFT-300M", "openai": "WIT-400M (OpenAI CLIP)", "laion2b": "LAION-2B",
    "laion400m": "LAION-400M", "laion": "LAION-2B", "webli": "WebLI", "datacomp1b": "DataComp-1B",
    "datacompxl": "DataComp-XL", "metaclip": "MetaCLIP", "lvd142m": "LVD-142M", "lvd1689m": "LVD-1689M",
    "dfn2b": "DFN-2B", "dfn5b": "DFN-5B", "dfndr2b": "DFN-DR-2B", "merged2b": "Merged-2B", "cc12m": "CC12M",
    "sat493m": "SAT-493M", "in21k1k": "ImageNet-21k",
}
SELF_SUPERVISED = ("mae", "dino", "dinov2", "dinov3", "fcmae", "mim", "beit", "ijepa", "simclr", "moco", "lvd142m",
                   "lvd1689m", "eupe", "aimv2", "radio", "pe_core")
CONTRASTIVE = ("clip", "siglip", "siglip2", "openai", "laion2b", "laion400m", "webli", "datacomp1b", "metaclip",
               "dfn2b", "dfn5b", "mclip", "mclip2", "cc12m", "merged2b", "datacompxl")
# self-attention: query/key/value projections (an "attn" slot alone is often squeeze-excite or an Identity placeholder)
QKV_NAMES = ("qkv", "qk", "q", "kv", "query", "q_proj", "qkv_proj", "to_qkv", "in_proj")
AUX_HEADS = ("googlenet", "inception_v3")  # torchvision drops their auxiliary classifiers when loading weights
MLP_PREFIXES = ("mixer_", "resmlp_", "gmlp_", "gmixer_")
RECURRENT_PREFIXES = ("sequencer",)


def generate(limit: int | None = None) -> list[dict[str, Any]]:
    """Every generated card as a dict (torchvision, timm, curated hub ids), unique identifiers, sorted."""
    tv = import_torchvision()
    names = [*tv.models.list_models(module=tv.models), *tv.models.list_models(module=tv.models.video)]
    timm_tags = import_timm().list_models(pretrained=True)[:limit]
    cards = [*torchvision_cards(names[:limit]), *timm_cards(timm_tags), *curated_cards()]
    hand = {m["identifier"] for m in _hand_entries()}
    seen: dict[str, dict[str, Any]] = {}
    for card in cards:
        if card["identifier"] in hand or card["identifier"] in seen:
            card["identifier"] = f"{card['source']}:{card['identifier']}"  # keep hand-made names unchanged
        seen[card["identifier"]] = card
    return sorted(seen.values(), key=lambda c: c["identifier"])


def write(cards: list[dict[str, Any]], path: Path = GENERATED_FILE) -> None:
    """One card per line (diff-friendly), validated as `ModelCard` first."""
    from brainalign.models.card import ModelCard

    for card in cards:
        ModelCard(**card)
    lines = ",\n".join(json.dumps(card, sort_keys=True) for card in cards)
    path.write_text(f"[\n{lines}\n]\n")


# ---- torchvision -------------------------------------------------------------------------------------------------

def torchvision_cards(names: Iterable[str]) -> list[dict[str, Any]]:
    """One card per weights enum of each torchvision classification / video architecture in ``names``."""
    tv = import_torchvision()
    hand_layers = _hand_layers("torchvision")
    hand_family = {m["architecture"]: m["family"] for m in _hand_entries() if m["source"] == "torchvision"}
    cards = []
    for name in names:
        try:
            enum = tv.models.get_model_weights(name)
        except ValueError:
            continue
        video = name in tv.models.list_models(module=tv.models.video)
        module = _torchvision_meta(name)
        sibling = next((layers for arch, layers in hand_layers.items() if _stem(arch) == _stem(name)), None)
        layers = hand_layers.get(name) or (_default_layers(module, None) if module is not None else sibling)
        family = _family(name, module) if module is not None else hand_family.get(name, "CNN")
        for weights in enum:
            if "quantized" in type(weights).__module__:
                continue
            cards.append(_torchvision_card(name, weights, layers, video, family))
    return cards


def _torchvision_meta(name: str) -> torch.nn.Module | None:
    """The architecture built on the meta device, or None for builders that compute with tensors (regnet)."""
    try:
        with torch.device("meta"):
            return import_torchvision().models.get_model(name, weights=None)
    except NotImplementedError:
        return None


def _torchvision_card(name: str, weights: Any, layers: list[str], video: bool, family: str) -> dict[str, Any]:
    transform = weights.transforms()
    crop = _first(transform.crop_size)
    resize = _first(transform.resize_size)
    tag = weights.name.lower()
    prefix = re.search(r"-([a-f0-9]{6,})\.", weights.url.rsplit("/", 1)[-1])
    data, method = _torchvision_training(weights.name)
    metrics = next(iter(weights.meta.get("_metrics", {}).values()), {})
    accuracy = f"; top-1 {metrics['acc@1']:.2f}%" if "acc@1" in metrics else ""
    card = {
        "identifier": f"{name}.{tag}", "source": "torchvision", "architecture": name, "family": family,
        "task": "action recognition" if video else "image classification", "training_data": data,
        "training_method": method, "modality": "video" if video else "image",
        "parameters": int(weights.meta["num_params"]), "default_layers": layers, "input_size": crop,
        "resize_size": resize, "mean": list(transform.mean), "std": list(transform.std),
        "interpolation": transform.interpolation.value, "weights": "hub", "weights_file": weights.url,
        "weights_sha256": prefix.group(1) if prefix else None,
        "notes": f"torchvision {type(weights).__name__}.{weights.name}; recipe {weights.meta.get('recipe', 'n/a')}"
                 f"{accuracy}",
        "extra": {"torchvision_weights": weights.name},
    }
    if name.startswith("vit_") and weights.meta["min_size"][0] != 224:  # SWAG ViTs: another patch grid
        card["extra"]["builder"] = {"image_size": int(weights.meta["min_size"][0])}
    if name in AUX_HEADS:  # torchvision's num_params of inception_v3 counts the dropped auxiliary head
        card["extra"]["builder"] = {"aux_logits": False}
        with torch.device("meta"):
            built = import_torchvision().models.get_model(name, weights=None, aux_logits=False, init_weights=False)
        card["parameters"] = sum(p.numel() for p in built.parameters())
    if video:
        card["extra"].update(n_frames=16, temporal_pooling="mean")
    return card


def _torchvision_training(enum_name: str) -> tuple[str, str]:
    if enum_name.startswith("KINETICS400"):
        return "Kinetics-400", "supervised"
    if "SWAG" in enum_name:
        return "Instagram-3.6B (SWAG) → ImageNet-1k", "supervised"
    return "ImageNet-1k", "supervised"


# ---- timm --------------------------------------------------------------------------------------------------------

def timm_cards(tags: Iterable[str]) -> list[dict[str, Any]]:
    """One card per timm pretrained tag with 3-channel square input and weights on the Hugging Face hub."""
    timm = import_timm()
    hand = {m["architecture"]: m for m in _hand_entries() if m["source"] == "timm"}
    cards = []
    for tag in tqdm(list(tags), desc="timm tags", disable=None):
        cfg = timm.models.get_pretrained_cfg(tag)
        size = cfg.input_size
        if cfg is None or not cfg.hf_hub_id or size[0] != 3 or size[1] != size[2]:
            continue
        try:
            with warnings.catch_warnings(), torch.device("meta"):
                warnings.simplefilter("ignore")
                module = timm.create_model(tag, pretrained=False)
        except Exception as error:  # noqa: BLE001 - an architecture that cannot be built is left out, reported
            print(f"skipped {tag}: {type(error).__name__}: {error}"[:200], file=sys.stderr)
            continue
        architecture = tag.split(".", 1)[0]
        known = hand.get(architecture)
        layers = _default_layers(module, known["default_layers"] if known else None)
        if not layers:
            print(f"skipped {tag}: no default layers found", file=sys.stderr)
            continue
        cards.append(_timm_card(tag, cfg, module, layers, known["family"] if known else None))
    return cards


def _timm_card(tag: str, cfg: Any, module: torch.nn.Module, layers: list[str], family: str | None) -> dict[str, Any]:
    architecture, _, pretrained = tag.partition(".")
    data, method = _timm_training(architecture, pretrained)
    filename = cfg.hf_hub_filename or "model.safetensors"  # timm's push_to_hub writes it; timm tries it first
    size = int(cfg.input_size[1])
    return {
        "identifier": tag, "source": "timm", "architecture": tag, "family": family or _family(architecture, module),
        "task": "image classification" if cfg.num_classes else "image embedding", "training_data": data,
        "training_method": method, "modality": "image",
        "parameters": sum(p.numel() for p in module.parameters()), "default_layers": layers, "input_size": size,
        "resize_size": math.floor(size / (cfg.crop_pct or 1.0)), "mean": list(cfg.mean), "std": list(cfg.std),
        "interpolation": cfg.interpolation if cfg.interpolation in ("nearest", "bilinear", "bicubic") else "bicubic",
        "weights": "hub", "weights_file": f"hf://{cfg.hf_hub_id}/{filename}", "weights_revision": "main",
        "notes": f"timm {tag}; license {cfg.license or 'n/a'}; {cfg.paper_ids or cfg.origin_url or ''}".rstrip("; "),
        "extra": {},
    }


def _timm_training(architecture: str, pretrained: str) -> tuple[str, str]:
    tokens = [t for t in re.split(r"[_.]", pretrained) if t]
    stages = []
    for token in tokens:
        data = DATA_TOKENS.get(token) or DATA_TOKENS.get(re.sub(r"\d+$", "", token) if token.startswith("in") else "")
        if data and (not stages or stages[-1] != data):
            stages.append(data)
    if not stages:
        stages = ["ImageNet-1k"] if "in1k" in pretrained or not pretrained else [f"timm '{pretrained}' weights"]
    words = set(tokens) | set(architecture.split("_"))
    fine_tuned = "ft" in tokens
    if not fine_tuned and words & set(SELF_SUPERVISED):
        method = "self-supervised"
    elif not fine_tuned and words & set(CONTRASTIVE):
        method = "contrastive"
    else:
        method = "supervised"
    return " → ".join(stages), method


# ---- curated Hugging Face hub ids ----------------------------------------------------------------------------------

# (hub id, source, family, task, training data, training method, modality, config class, config kwargs, notes):
# parameters and layer names come from the config instantiated on the meta device.
CURATED: tuple[tuple[str, str, str, str, str, str, str, str, dict[str, Any]], ...] = (
    ("openai-community/gpt2", "transformers", "LLM", "language modelling", "WebText", "supervised", "text",
     "GPT2Config", {}),
    ("openai-community/gpt2-medium", "transformers", "LLM", "language modelling", "WebText", "supervised", "text",
     "GPT2Config", {"n_embd": 1024, "n_layer": 24, "n_head": 16}),
    ("openai-community/gpt2-large", "transformers", "LLM", "language modelling", "WebText", "supervised", "text",
     "GPT2Config", {"n_embd": 1280, "n_layer": 36, "n_head": 20}),
    ("openai-community/gpt2-xl", "transformers", "LLM", "language modelling", "WebText", "supervised", "text",
     "GPT2Config", {"n_embd": 1600, "n_layer": 48, "n_head": 25}),
    ("distilbert/distilgpt2", "transformers", "LLM", "language modelling", "OpenWebText", "supervised", "text",
     "GPT2Config", {"n_layer": 6}),
    ("google-bert/bert-base-uncased", "transformers", "LLM", "masked language modelling",
     "BookCorpus + English Wikipedia", "self-supervised", "text", "BertConfig", {}),
    ("google-bert/bert-base-cased", "transformers", "LLM", "masked language modelling",
     "BookCorpus + English Wikipedia", "self-supervised", "text", "BertConfig", {"vocab_size": 28996}),
    ("google-bert/bert-large-uncased", "transformers", "LLM", "masked language modelling",
     "BookCorpus + English Wikipedia", "self-supervised", "text", "BertConfig",
     {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}),
    ("distilbert/distilbert-base-uncased", "transformers", "LLM", "masked language modelling",
     "BookCorpus + English Wikipedia", "self-supervised", "text", "DistilBertConfig", {}),
    ("FacebookAI/roberta-base", "transformers", "LLM", "masked language modelling",
     "BookCorpus, Wikipedia, CC-News, OpenWebText, Stories", "self-supervised", "text", "RobertaConfig",
     {"vocab_size": 50265, "max_position_embeddings": 514, "type_vocab_size": 1, "pad_token_id": 1}),
    ("FacebookAI/roberta-large", "transformers", "LLM", "masked language modelling",
     "BookCorpus, Wikipedia, CC-News, OpenWebText, Stories", "self-supervised", "text", "RobertaConfig",
     {"vocab_size": 50265, "max_position_embeddings": 514, "type_vocab_size": 1, "pad_token_id": 1,
      "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}),
    ("EleutherAI/pythia-70m", "transformers", "LLM", "language modelling", "The Pile", "supervised", "text",
     "GPTNeoXConfig", {"hidden_size": 512, "num_hidden_layers": 6, "num_attention_heads": 8,
                       "intermediate_size": 2048, "vocab_size": 50304, "rotary_pct": 0.25,
                       "max_position_embeddings": 2048, "tie_word_embeddings": False}),
    ("EleutherAI/pythia-160m", "transformers", "LLM", "language modelling", "The Pile", "supervised", "text",
     "GPTNeoXConfig", {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                       "intermediate_size": 3072, "vocab_size": 50304, "rotary_pct": 0.25,
                       "max_position_embeddings": 2048, "tie_word_embeddings": False}),
    ("HuggingFaceTB/SmolLM2-135M", "transformers", "LLM", "language modelling", "SmolLM-Corpus (FineWeb-Edu, ...)",
     "supervised", "text", "LlamaConfig",
     {"hidden_size": 576, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
      "intermediate_size": 1536, "vocab_size": 49152, "tie_word_embeddings": True}),
    ("facebook/opt-125m", "transformers", "LLM", "language modelling", "OPT corpus (RoBERTa data, Pile, Reddit)",
     "supervised", "text", "OPTConfig", {}),
    # speech encoders (source "audio": models/sources/audio.py): convolutional feature encoder + transformer
    ("facebook/wav2vec2-base", "audio", "hybrid", "speech representation", "LibriSpeech 960h", "self-supervised",
     "audio", "Wav2Vec2Config", {}),
    ("facebook/wav2vec2-base-960h", "audio", "hybrid", "speech recognition", "LibriSpeech 960h", "supervised",
     "audio", "Wav2Vec2Config", {}),
    ("facebook/hubert-base-ls960", "audio", "hybrid", "speech representation", "LibriSpeech 960h", "self-supervised",
     "audio", "HubertConfig", {}),
)


def curated_cards() -> list[dict[str, Any]]:
    """Cards of the curated hub ids (whole model directories, fetched with ``snapshot_download``)."""
    from brainalign.models.compat import import_torchvision

    import_torchvision()
    import transformers

    cards = []
    for hub_id, source, family, task, data, method, modality, config_name, kwargs in CURATED:
        config = getattr(transformers, config_name)(**kwargs)
        with torch.device("meta"):
            module = transformers.AutoModel.from_config(config)
        blocks = _block_lists(module)
        layers = _spread(blocks[0][1]) if blocks else []
        cards.append({
            "identifier": hub_id.split("/", 1)[1].lower(), "source": source, "architecture": hub_id,
            "family": family, "task": task, "training_data": data, "training_method": method, "modality": modality,
            "parameters": sum(p.numel() for p in module.parameters()), "default_layers": layers,
            "input_size": 16000 if modality == "audio" else int(config.max_position_embeddings), "weights": "hub",
            "weights_file": f"hf://{hub_id}", "weights_revision": "main",
            "notes": f"Hugging Face {hub_id} ({config_name}); whole model directory from the hub",
            "extra": {} if modality == "audio" else {
                "pooling": "last" if "GPT" in config_name or "Llama" in config_name or "OPT" in config_name
                else "mean"},
        })
    return cards


# ---- shared helpers ------------------------------------------------------------------------------------------------

def _default_layers(module: torch.nn.Module, preferred: list[str] | None) -> list[str]:
    """``preferred`` (a hand-made entry's layers) when all exist; else timm's ``feature_info`` modules (once each,
    never a ModuleList) or the longest block list, thinned to `N_BLOCK_LAYERS` evenly spaced, plus the first
    pooling / final norm layer."""
    names = {name: child for name, child in module.named_modules()
             if not isinstance(child, torch.nn.ModuleList)}  # a ModuleList is never called: no output to read
    if preferred and all(layer in names for layer in preferred):
        return list(preferred)
    infos = getattr(module, "feature_info", []) or []
    stages = list(dict.fromkeys(info["module"] for info in infos if info.get("module") in names))
    if len(stages) < 2:
        blocks = _block_lists(module)
        stages = blocks[0][1] if blocks else []
    layers = _spread(stages)
    pool = next((p for p in POOL_LAYERS if p in names), None)
    return [*layers, pool] if layers and pool and pool not in layers else layers


def _block_lists(module: torch.nn.Module) -> list[tuple[str, list[str]]]:
    """(name, child names) of every ModuleList / Sequential with >= 4 children, longest first."""
    found = []
    for name, child in module.named_modules():
        if isinstance(child, (torch.nn.ModuleList, torch.nn.Sequential)) and len(child) >= 4:
            found.append((name, [f"{name}.{key}" if name else key for key, _ in child.named_children()]))
    return sorted(found, key=lambda item: (-len(item[1]), item[0]))


def _spread(stages: list[str]) -> list[str]:
    """All of ``stages`` when few, else `N_BLOCK_LAYERS` evenly spaced ending with the last one."""
    if len(stages) <= 6:
        return list(stages)
    n = len(stages)
    return [stages[round((k + 1) * n / N_BLOCK_LAYERS) - 1] for k in range(N_BLOCK_LAYERS)]


def _family(architecture: str, module: torch.nn.Module) -> str:
    """MLP / recurrent by name; else ViT (self-attention, at most a convolutional stem), hybrid (self-attention
    and convolutions), or CNN."""
    if architecture.startswith(MLP_PREFIXES):
        return "MLP"
    if architecture.startswith(RECURRENT_PREFIXES):
        return "recurrent"
    attention = any(isinstance(child, torch.nn.MultiheadAttention) or (
        name.rsplit(".", 1)[-1] in QKV_NAMES and not isinstance(child, torch.nn.Identity))
        for name, child in module.named_modules())
    convolutions = sum(isinstance(child, torch.nn.Conv2d | torch.nn.Conv3d) for child in module.modules())
    if not attention:
        return "CNN"
    return "ViT" if convolutions <= 4 else "hybrid"


def _hand_entries() -> list[dict[str, Any]]:
    with open(HAND_FILE, "rb") as f:
        return tomllib.load(f)["model"]


def _hand_layers(source: str) -> dict[str, list[str]]:
    return {m["architecture"]: m["default_layers"] for m in _hand_entries() if m["source"] == source}


def _stem(architecture: str) -> str:
    """The architecture name without its size suffix: ``regnet_y_128gf`` → ``regnet_y``."""
    return re.sub(r"[\d_]+[a-z]*$", "", architecture)


def _first(value: Any) -> int:
    return int(value[0] if isinstance(value, (list, tuple)) else value)


if __name__ == "__main__":
    generated = generate()
    write(generated)
    print(f"wrote {len(generated)} cards to {GENERATED_FILE}")
