"""User models: a registered torch module's features equal its hooks (weights loaded from a state-dict file or
directory); a callable's outputs come back as labelled Features; bad registrations say what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.extractor import Extractor
from brainalign.models.feature_cache import FeatureCache
from brainalign.models.loading import ImagePreprocessing, load_model
from brainalign.models.sources.user import register_user_model

PREPROCESSING = ImagePreprocessing(image_size=16, resize_size=16)


def _net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 14 * 14, 3))


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> StimulusSet:
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(1)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    return StimulusSet.from_folder(folder, identifier="photos")


@pytest.mark.parametrize("weights_as", ["file", "directory"])
def test_user_module_features_equal_its_hooks_with_weights_from_disk(photos, tmp_path, weights_as):
    torch.manual_seed(3)
    trained = _net()
    (tmp_path / "ckpt").mkdir()
    torch.save(trained.state_dict(), tmp_path / "ckpt" / "net.pt")
    weights = tmp_path / "ckpt" / "net.pt" if weights_as == "file" else tmp_path / "ckpt"
    card = register_user_model("user_net", _net(), preprocessing=PREPROCESSING.transform, layers=["1", "3"],
                               weights=weights, family="CNN", task="demo")
    assert (card.source, card.weights, card.parameters) == ("user", "local", sum(p.numel() for p in trained.parameters()))
    features = Extractor("user_net", batch_size=3, cache=False, progress=False).extract(photos)
    images = torch.stack([PREPROCESSING.transform(photos.load_image(i)) for i in range(len(photos))])
    with torch.no_grad():
        relu = trained[1](trained[0](images))
        logits = trained(images)
    np.testing.assert_allclose(features["1"].values, relu.reshape(4, -1).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features["3"].values, logits.numpy(), rtol=1e-5, atol=1e-6)
    assert features["3"].attrs == {"layer": "3", "model": "user_net"}


def test_callable_outputs_come_back_as_labelled_features(photos):
    def colour_statistics(images):
        pixels = np.stack([np.asarray(image, dtype=np.float32) for image in images])
        return {"mean": pixels.mean(axis=(1, 2)), "std": pixels.std(axis=(1, 2))}

    register_user_model("colour_stats", colour_statistics, layers=["mean", "std"])
    features = Extractor("colour_stats", batch_size=3, cache=False, progress=False).extract(photos)
    for i, path in enumerate(photos.paths):
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
        np.testing.assert_allclose(features["mean"].values[i], pixels.mean(axis=(0, 1)), rtol=1e-6)
        np.testing.assert_allclose(features["std"].values[i], pixels.std(axis=(0, 1)), rtol=1e-5)
    assert list(features["mean"].stimulus_id.values) == photos.stimulus_ids


def test_cache_keys_on_the_module_parameters(photos, tmp_path):
    cache = FeatureCache(tmp_path)
    torch.manual_seed(0)
    register_user_model("user_cached", _net(), preprocessing=PREPROCESSING, layers=["3"])
    first = Extractor("user_cached", cache=cache, progress=False).extract(photos)["3"].values
    torch.manual_seed(1)
    register_user_model("user_cached", _net(), preprocessing=PREPROCESSING, layers=["3"])
    other = Extractor("user_cached", cache=cache, progress=False).extract(photos)["3"].values
    assert not np.allclose(first, other)  # new parameters: recomputed, not served from the cache


def test_bad_registrations_and_layers_say_what_is_valid(photos):
    with pytest.raises(UnknownNameError, match="unknown layer 'relu'.*valid: 0, 1, 2, 3"):
        register_user_model("bad_layer", _net(), layers=["relu"])
    with pytest.raises(InvalidInputError, match="needs a preprocessing"):
        register_user_model("text_net", _net(), modality="text")
    with pytest.raises(InvalidInputError, match="shadow the catalog entry"):
        register_user_model("alexnet", _net())
    register_user_model("two_layers", lambda images: {"a": np.zeros((len(images), 1))}, layers=["a", "b"])
    with pytest.raises(InvalidInputError, match=r"returned layers \['a'\]; missing requested layers \['b'\]"):
        Extractor("two_layers", cache=False, progress=False).extract(photos)
    with pytest.raises(UnknownNameError, match="unknown model 'no_such_user_model'"):
        load_model("no_such_user_model")
