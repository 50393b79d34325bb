"""Hub downloads through torch.hub and huggingface_hub against a local server: the loaded network equals one built
from the same state dict directly; mirrors come first; corrupt files and offline machines give one clear error."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import warnings

import huggingface_hub.constants  # noqa: F401 - read HF_HUB_OFFLINE (once, at import) before a test sets it
import pytest
import torch
from safetensors.torch import save as save_safetensors

from brainalign.core.errors import OfflineError
from brainalign.data.fetch import ChecksumError
from brainalign.models.catalog import get_card
from brainalign.models.compat import import_timm, import_torchvision
from brainalign.models.loading import load_model
from brainalign.models.sources.hub import copy_to_mirror, recorded_sha256_file, weights_path, weights_url
from brainalign.models.sources.weights import load_state_dict_in_order
from hub_server import HubServer


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A running local hub, with every cache and mirror variable pointing into ``tmp_path``."""
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "BRAINALIGN_MIRROR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def _state_bytes(module: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getvalue()


def _torchvision_card(hub, data: bytes, name: str = "squeezenet1_1"):
    digest = hashlib.sha256(data).hexdigest()
    url = hub.add_url(f"{name}-{digest[:8]}.pth", data)
    return dataclasses.replace(get_card(f"{name}.imagenet1k_v1"), weights_file=url, weights_sha256=digest[:8])


def test_torchvision_url_downloads_checks_the_hash_prefix_and_loads_like_the_state_dict(hub):
    torch.manual_seed(1)
    reference = import_torchvision().models.squeezenet1_1().eval()
    card = _torchvision_card(hub, _state_bytes(reference))
    model = load_model(card, device="cpu")
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model.module(x), reference(x))
    assert model.weights_checksum.startswith(card.weights_sha256)
    assert weights_path(card).is_relative_to(os.environ["TORCH_HOME"])  # torch.hub's checkpoint folder
    load_model(card, device="cpu")  # the cached copy: no second download
    assert hub.requests[f"GET /files/{card.weights_file.rsplit('/', 1)[-1]}"] == 1


def test_mirror_is_consulted_first_and_a_corrupt_download_is_detected(hub, tmp_path, monkeypatch):
    data = _state_bytes(import_torchvision().models.squeezenet1_1())
    card = _torchvision_card(hub, data)
    mirror = tmp_path / "mirror"
    (mirror / "weights").mkdir(parents=True)
    name = card.weights_file.rsplit("/", 1)[-1]
    (mirror / "weights" / name).write_bytes(data)
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(mirror))
    assert weights_path(card) == mirror / "weights" / name and not hub.requests
    monkeypatch.delenv("BRAINALIGN_MIRROR")
    hub.files[f"/files/{name}"] = data[:-10] + b"0123456789"  # the server sends damaged bytes
    with pytest.raises(ChecksumError, match="checksum mismatch for .*" + name):
        weights_path(card)


def test_offline_gives_one_clear_error_with_url_place_and_variables(hub, monkeypatch):
    card = _torchvision_card(hub, b"never served")
    card = dataclasses.replace(card, weights_file="http://127.0.0.1:9/files/squeezenet1_1-b8a52dc0.pth",
                               weights_sha256="b8a52dc0")
    with pytest.raises(OfflineError) as error:
        weights_path(card)
    message = str(error.value)
    assert card.weights_file in message and "<mirror>/weights/squeezenet1_1-b8a52dc0.pth" in message
    assert "BRAINALIGN_MIRROR" in message and "TORCH_HOME" in message
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    timm_card = get_card("resnet18.a1_in1k")
    with pytest.raises(OfflineError) as error:
        weights_path(timm_card)
    message = str(error.value)
    assert weights_url(timm_card) in message and "<mirror>/timm--resnet18.a1_in1k/model.safetensors" in message
    assert "HF_HOME" in message and "HF_ENDPOINT" in message


def _tiny_timm(hub):
    timm = import_timm()
    tag = "test_vit.r160_in1k"
    torch.manual_seed(2)
    reference = timm.create_model(tag, pretrained=False).eval()
    data = save_safetensors({k: v.contiguous() for k, v in reference.state_dict().items()})
    hub.add_hub_file("timm/test_vit.r160_in1k", "model.safetensors", data)
    card = dataclasses.replace(get_card(tag), weights_file="hf://timm/test_vit.r160_in1k/model.safetensors")
    return card, reference, data


def test_timm_weights_come_through_hf_hub_download_and_load_like_the_state_dict(hub):
    card, reference, data = _tiny_timm(hub)
    model = load_model(card, device="cpu")
    x = torch.rand(2, 3, 160, 160)
    with torch.no_grad():
        assert torch.allclose(model.module(x), reference(x), atol=1e-6)
    assert model.weights_checksum == hashlib.sha256(data).hexdigest()
    assert recorded_sha256_file(card).read_text().strip() == model.weights_checksum  # recorded on first download
    assert hub.requests["GET /timm/test_vit.r160_in1k/resolve/main/model.safetensors"] == 1


def test_a_changed_hub_file_is_detected_against_the_recorded_sha256(hub, tmp_path, monkeypatch):
    card, _, data = _tiny_timm(hub)
    first = weights_path(card)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-other"))  # a fresh cache, and upstream now differs
    hub.add_hub_file("timm/test_vit.r160_in1k", "model.safetensors", data[:-4] + b"\0\0\0\0")
    with pytest.raises(ChecksumError, match="first download had"):
        weights_path(card)
    assert first.is_file()


@pytest.mark.parametrize("family", ["ViT", "BERT", "GPT2", "Wav2Vec2"])
def test_transformers_files_come_through_hf_hub_download_and_load_like_the_model(hub, family):
    import_torchvision()
    import transformers

    configs = {
        "ViT": transformers.ViTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=32, image_size=32, patch_size=8),
        "BERT": transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                        intermediate_size=32),
        "GPT2": transformers.GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2),
        "Wav2Vec2": transformers.Wav2Vec2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                                intermediate_size=32, conv_dim=(8, 8), conv_stride=(5, 4),
                                                conv_kernel=(10, 8), num_conv_pos_embeddings=4,
                                                num_conv_pos_embedding_groups=2),
    }
    torch.manual_seed(3)
    reference = transformers.AutoModel.from_config(configs[family]).eval()
    repo = f"tiny/{family.lower()}"
    state = {k: v.contiguous() for k, v in reference.state_dict().items()}
    hub.add_hub_file(repo, "config.json", json.dumps(configs[family].to_dict()).encode())
    hub.add_hub_file(repo, "model.safetensors", save_safetensors(state, metadata={"format": "pt"}))
    base = get_card("gpt2")
    paths = [weights_path(dataclasses.replace(base, identifier=f"tiny_{family}", weights_file=f"hf://{repo}/{name}"))
             for name in ("config.json", "model.safetensors")]
    assert paths[0].parent == paths[1].parent  # one snapshot folder, as from_pretrained expects
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = transformers.AutoModel.from_pretrained(paths[0].parent).eval()
    inputs = {"ViT": {"pixel_values": torch.rand(1, 3, 32, 32)}, "Wav2Vec2": {"input_values": torch.rand(1, 400)}}
    kwargs = inputs.get(family, {"input_ids": torch.tensor([[1, 5, 7, 2]])})
    with torch.no_grad():
        assert torch.allclose(loaded(**kwargs).last_hidden_state, reference(**kwargs).last_hidden_state, atol=1e-6)


def test_hub_files_and_model_directories_come_from_the_mirror_first(hub, tmp_path, monkeypatch):
    card, _, data = _tiny_timm(hub)
    mirror = tmp_path / "mirror"
    copy = copy_to_mirror(card, mirror)
    assert copy == mirror / "timm--test_vit.r160_in1k" / "model.safetensors" and copy.read_bytes() == data
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(mirror))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert weights_path(card) == copy
    directory = mirror / "openai-community--gpt2"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    assert weights_path(get_card("gpt2")) == directory
    assert hub.requests["GET /timm/test_vit.r160_in1k/resolve/main/model.safetensors"] == 1


def test_published_state_dicts_with_auxiliary_heads_load_by_name_without_them():
    torch.manual_seed(4)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    state = {"0.weight": torch.rand(2, 3), "0.bias": torch.rand(2), "aux1.fc.weight": torch.rand(5, 2)}
    load_state_dict_in_order(net, state, get_card("googlenet.imagenet1k_v1"))
    assert torch.equal(net[0].weight, state["0.weight"]) and torch.equal(net[0].bias, state["0.bias"])
