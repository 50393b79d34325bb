"""Extractor: features equal a bare forward pass read with manual hooks; batching, early stop, cache, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.card import ModelCard
from brainalign.models.compat import import_torchvision
from brainalign.models.extractor import Extractor, list_layers
from brainalign.models.feature_cache import FeatureCache, feature_key
from brainalign.models.loading import ImagePreprocessing, LoadedModel, load_model

LAYERS = ["blocks.1", "blocks.3", "global_pool"]


@pytest.fixture(scope="module")
def stimuli(tmp_path_factory) -> StimulusSet:
    """Five real photographs (skimage) at different sizes."""
    skimage_data = pytest.importorskip("skimage.data")
    folder = tmp_path_factory.mktemp("photos")
    for name in ("chelsea", "coffee", "astronaut", "rocket", "immunohistochemistry"):
        Image.fromarray(getattr(skimage_data, name)()).convert("RGB").save(folder / f"{name}.png")
    return StimulusSet.from_folder(folder, identifier="photos")


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    return load_model("efficientnet_lite0", device="cpu")


def _reference_features(model: LoadedModel, stimuli: StimulusSet, layers: list[str]) -> dict[str, np.ndarray]:
    """One bare forward pass over all images, read with hand-written hooks and a hand-built torchvision pipeline."""
    transforms = import_torchvision().transforms
    pipeline = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ])
    images = torch.stack([pipeline(Image.open(p).convert("RGB")) for p in stimuli.paths])
    captured = {}
    handles = [model.module.get_submodule(name).register_forward_hook(
        lambda m, i, o, name=name: captured.__setitem__(name, o)) for name in layers]
    with torch.no_grad():
        model.module(images)
    for h in handles:
        h.remove()
    return {name: captured[name].reshape(len(images), -1).numpy() for name in layers}


def test_features_equal_a_bare_forward_pass_with_manual_hooks(model, stimuli):
    reference = _reference_features(model, stimuli, LAYERS)
    features = Extractor(model, layers=LAYERS, batch_size=2, cache=False, progress=False).extract(stimuli)
    assert list(features) == LAYERS
    for name in LAYERS:
        assert features[name].dims == ("stimulus", "unit") and features[name].dtype == np.float32
        assert list(features[name].stimulus_id.values) == stimuli.stimulus_ids
        assert features[name].attrs == {"layer": name, "model": "efficientnet_lite0"}
        np.testing.assert_allclose(features[name].values, reference[name], rtol=1e-4, atol=1e-5)


def test_forward_stops_after_the_last_requested_layer(model, stimuli):
    calls = []
    handle = model.module.conv_head.register_forward_hook(lambda *args: calls.append(1))
    try:
        features = Extractor(model, layers=["blocks.1"], batch_size=2, cache=False, progress=False).extract(stimuli)
    finally:
        handle.remove()
    assert len(calls) == 1  # the first batch runs fully to learn where to stop; the other two batches stop early
    reference = _reference_features(model, stimuli, ["blocks.1"])["blocks.1"]
    np.testing.assert_allclose(features["blocks.1"].values, reference, rtol=1e-4, atol=1e-5)


def test_cache_hit_returns_identical_arrays_without_running_the_model(model, stimuli, tmp_path):
    cache = FeatureCache(tmp_path)
    first = Extractor(model, layers=LAYERS, cache=cache, progress=False).extract(stimuli)
    assert len(list(tmp_path.glob("*.h5"))) == len(LAYERS)

    def must_not_run(*args):
        raise AssertionError("the model ran although every layer was cached")

    handle = model.module.register_forward_pre_hook(must_not_run)
    try:
        second = Extractor(model, layers=LAYERS, cache=cache, progress=False).extract(stimuli)
    finally:
        handle.remove()
    for name in LAYERS:
        np.testing.assert_array_equal(second[name].values, first[name].values)
        assert list(second[name].stimulus_id.values) == stimuli.stimulus_ids


def test_cache_key_changes_with_every_parameter_that_changes_features(model, stimuli):
    key = feature_key(model, "blocks.1", stimuli)
    assert feature_key(model, "blocks.1", stimuli) == key
    prep = model.preprocessing
    variants = [
        dataclasses.replace(model, preprocessing=dataclasses.replace(prep, image_size=192)),
        dataclasses.replace(model, preprocessing=dataclasses.replace(prep, mean=(0.5, 0.5, 0.5))),
        dataclasses.replace(model, preprocessing=dataclasses.replace(prep, interpolation="bicubic")),
        dataclasses.replace(model, weights_checksum="random-seed0"),
    ]
    keys = {feature_key(v, "blocks.1", stimuli) for v in variants}
    keys.add(feature_key(model, "blocks.2", stimuli))
    keys.add(feature_key(model, "blocks.1", stimuli.subset(stimuli.stimulus_ids[:3])))
    assert key not in keys and len(keys) == len(variants) + 2


def test_unknown_layer_lists_the_valid_ones(model):
    expected = r"unknown layer 'blocks\.9'; did you mean 'blocks\.6'\? valid: "
    with pytest.raises(UnknownNameError, match=expected) as info:
        Extractor(model, layers=["blocks.9"])
    assert info.value.choices == sorted(list_layers(model))


def test_text_stimuli_are_rejected(model):
    texts = StimulusSet("sentences", ["s1"], texts=["a cat"], modality="text")
    with pytest.raises(InvalidInputError, match="holds text stimuli; model 'efficientnet_lite0' takes image"):
        Extractor(model, cache=False).extract(texts)


class _TupleNet(torch.nn.Module):
    """Returns (tensor, aux dict) from one layer, like recurrent / attention blocks do."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3)
        self.block = _TupleBlock()

    def forward(self, x):
        return self.block(self.conv(x))[0].mean()


class _TupleBlock(torch.nn.Module):
    def forward(self, x):
        return x * 2, {"state": x}


def test_tuple_outputs_yield_their_main_tensor():
    card = ModelCard(identifier="tuple_net", source="user", architecture="_TupleNet", family="recurrent",
                     task="test", training_data="none", training_method="random", modality="image", parameters=56,
                     default_layers=["block"], input_size=8)
    net = _TupleNet().eval()
    model = LoadedModel(card, net, ImagePreprocessing(image_size=8, resize_size=8), "random-seed0")
    images = torch.rand(2, 3, 8, 8)
    values = Extractor(model, cache=False).extract_batch(images)["block"]
    with torch.no_grad():
        expected = (net.conv(images) * 2).reshape(2, -1).numpy()
    np.testing.assert_allclose(values, expected, rtol=1e-6)
