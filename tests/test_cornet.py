"""CORnet-Z / -RT / -S: layer names, forward shapes, parameter counts from the published layer sizes, the RT
unrolling against a hand-written recurrence, and the ``cornet`` source (checkpoint with DataParallel names from a
local file and through the data mirror, random twin)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from brainalign.core.errors import UnknownNameError
from brainalign.core.storage import file_sha256
from brainalign.models.architectures.cornet import AREAS, CORNET_WEIGHTS, build_cornet
from brainalign.models.card import ModelCard, random_twin
from brainalign.models.extractor import Extractor
from brainalign.models.loading import load_model

NAMES = ("cornet_z", "cornet_rt", "cornet_s")


def _conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


# parameter counts from the layer sizes of the papers (Kubilius et al. 2018, 2019): weights + biases
DECODER = 512 * 1000 + 1000
EXPECTED_PARAMETERS = {
    "cornet_z": _conv(3, 64, 7) + _conv(64, 128, 3) + _conv(128, 256, 3) + _conv(256, 512, 3) + DECODER,
    "cornet_rt": sum(_conv(i, o, k) + 2 * o + _conv(o, o, 3, False) + 2 * o
                     for i, o, k in ((3, 64, 7), (64, 128, 3), (128, 256, 3), (256, 512, 3))) + DECODER,
    "cornet_s": _conv(3, 64, 7, False) + 2 * 64 + _conv(64, 64, 3, False) + 2 * 64 + DECODER + sum(
        _conv(i, o, 1, False) + _conv(o, o, 1, False) + 2 * o + _conv(o, 4 * o, 1, False)
        + _conv(4 * o, 4 * o, 3, False) + _conv(4 * o, o, 1, False) + times * (2 * 4 * o + 2 * 4 * o + 2 * o)
        for i, o, times in ((64, 128, 2), (128, 256, 4), (256, 512, 2))),
}


@pytest.mark.parametrize("name", NAMES)
def test_areas_shapes_and_parameter_counts(name):
    torch.manual_seed(0)
    net = build_cornet(name).eval()
    assert [child for child, _ in net.named_children()] == list(AREAS)
    assert sum(p.numel() for p in net.parameters()) == EXPECTED_PARAMETERS[name]
    shapes = {}

    def keep_shape(area: str):
        def hook(_module, _inputs, out):
            shapes[area] = tuple((out[0] if isinstance(out, tuple) else out).shape)  # RT areas give (output, state)
        return hook

    handles = [net.get_submodule(area).register_forward_hook(keep_shape(area)) for area in AREAS]
    with torch.no_grad():
        net(torch.randn(2, 3, 64, 64))
    for handle in handles:
        handle.remove()
    v1 = {"cornet_z": 16, "cornet_rt": 16, "cornet_s": 16}[name]  # 64 / 4: stride-2 conv + pool, or one stride-4 conv
    assert shapes["V1"] == (2, 64, v1, v1)
    assert shapes["V2"] == (2, 128, v1 // 2, v1 // 2)
    assert shapes["V4"] == (2, 256, v1 // 4, v1 // 4)
    assert shapes["IT"] == (2, 512, v1 // 8, v1 // 8)
    assert shapes["decoder"] == (2, 1000)


def test_rt_unrolling_equals_a_hand_written_recurrence():
    """At step t each area reads the step t - 1 output of the area below (V1 reads the image), plus its own state;
    areas with nothing arriving yet read zeros."""
    torch.manual_seed(1)
    net = build_cornet("cornet_rt").eval()
    image = torch.randn(1, 3, 32, 32)
    blocks = [net.V1, net.V2, net.V4, net.IT]

    def area(i, inputs, state):
        block = blocks[i]
        if inputs is None:
            x = torch.zeros(1, block.out_channels, *_size(image, i))
        else:
            x = torch.relu(block.norm_input(block.conv_input(inputs)))
        return torch.relu(block.norm1(block.conv1(x if state is None else x + state)))

    with torch.no_grad():
        out = [None] * 4
        for _ in range(5):
            below = [image, *out[:3]]
            out = [area(i, below[i], out[i]) for i in range(4)]
        expected = net.decoder(out[3])
        np.testing.assert_allclose(net(image).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def _size(image: torch.Tensor, area: int) -> tuple[int, int]:
    size = image.shape[-1]
    for stride in (4, 2, 2, 2)[:area + 1]:
        size = (size - 1) // stride + 1
    return size, size


def test_unknown_architecture_is_named():
    with pytest.raises(UnknownNameError, match="cornet_x"):
        build_cornet("cornet_x")


def _card(name: str, **fields) -> ModelCard:
    base = dict(identifier=f"{name}_test", source="cornet", architecture=name, family="recurrent",
                task="image classification", training_data="ImageNet-1k", training_method="supervised",
                modality="image", parameters=EXPECTED_PARAMETERS[name], default_layers=["V4", "IT"],
                input_size=64, weights="local")
    return ModelCard(**{**base, **fields})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A checkpoint saved like the authors' (``{"state_dict": ...}``, DataParallel ``module.`` names)."""
    torch.manual_seed(7)
    trained = build_cornet("cornet_z")
    path = tmp_path_factory.mktemp("weights") / CORNET_WEIGHTS["cornet_z"].rsplit("/", 1)[-1]
    torch.save({"epoch": 1, "state_dict": {f"module.{k}": v for k, v in trained.state_dict().items()}}, path)
    return path, trained


def test_source_loads_a_dataparallel_checkpoint_by_name(checkpoint):
    path, trained = checkpoint
    model = load_model(_card("cornet_z", weights_file=str(path)), device="cpu")
    assert model.weights_checksum == file_sha256(path)
    for name, tensor in trained.state_dict().items():
        torch.testing.assert_close(model.module.state_dict()[name], tensor, rtol=0, atol=0)


def test_source_fetches_hub_weights_from_the_mirror(checkpoint, tmp_path, monkeypatch):
    path, trained = checkpoint
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path))
    card = _card("cornet_z", weights="hub", weights_file=CORNET_WEIGHTS["cornet_z"], weights_sha256=file_sha256(path))
    model = load_model(card, device="cpu")
    torch.testing.assert_close(model.module.V1.conv.weight, trained.V1.conv.weight, rtol=0, atol=0)


def test_random_twin_is_seeded_and_extracts_all_areas(tmp_path):
    card = random_twin(_card("cornet_rt", weights_file="unused.pth"))
    first, again = load_model(card, device="cpu", seed=3), load_model(card, device="cpu", seed=3)
    assert first.weights_checksum == "random-seed3"
    torch.testing.assert_close(first.module.IT.conv1.weight, again.module.IT.conv1.weight, rtol=0, atol=0)
    model = dataclasses.replace(first)
    image = torch.randn(2, 3, 64, 64)
    features = Extractor(model, layers=["V1", "IT", "decoder"], cache=False, progress=False).extract_batch(image)
    assert features["IT"].shape == (2, 512 * 2 * 2) and features["decoder"].shape == (2, 1000)
    with torch.no_grad():
        np.testing.assert_allclose(features["decoder"], model.module(image).numpy(), rtol=1e-5, atol=1e-6)
