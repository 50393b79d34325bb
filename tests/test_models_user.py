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
    n_parameters = sum(p.numel() for p in trained.parameters())
    assert (card.source, card.weights, card.parameters) == ("user", "local", n_parameters)
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


def _channel_means(photos: StimulusSet) -> np.ndarray:
    return np.stack([np.asarray(Image.open(path).convert("RGB"), dtype=np.float32).mean(axis=(0, 1))
                     for path in photos.paths])


def test_changed_captured_weights_give_new_features_not_the_cached_ones(photos, tmp_path):
    cache = FeatureCache(tmp_path)
    weights = np.ones((3, 2), dtype=np.float32)

    def colour_projection(images):
        return np.stack([np.asarray(image, dtype=np.float32).mean(axis=(0, 1)) for image in images]) @ weights

    register_user_model("projected_colours", colour_projection)
    first = Extractor("projected_colours", cache=cache, progress=False).extract(photos)["output"].values
    weights[:, 1] = 3.0  # the captured array changes in place; the source text does not
    second = Extractor("projected_colours", cache=cache, progress=False).extract(photos)["output"].values
    np.testing.assert_allclose(first, _channel_means(photos) @ np.ones((3, 2)), rtol=1e-5)
    np.testing.assert_allclose(second, _channel_means(photos) @ weights, rtol=1e-5)


def test_module_with_batchnorm_is_cached_by_its_buffers(photos, tmp_path):
    cache = FeatureCache(tmp_path)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
    register_user_model("bn_net", net, preprocessing=PREPROCESSING, layers=["2"])
    first = Extractor("bn_net", cache=cache, progress=False).extract(photos)["2"].values
    with torch.no_grad():
        net[1].running_mean += 0.5  # a buffer, not a parameter
    second = Extractor("bn_net", cache=cache, progress=False).extract(photos)["2"].values
    images = torch.stack([PREPROCESSING.transform(photos.load_image(i)) for i in range(len(photos))])
    with torch.no_grad():
        expected = net.eval()(images).reshape(len(photos), -1).numpy()
    np.testing.assert_allclose(second, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(first, second)


def test_callables_capturing_objects_without_content_hash_need_a_version(photos):
    class Lookup:  # an object the identity cannot hash by content
        table = {"scale": 2.0}

    lookup = Lookup()

    def scaled_means(images):
        return np.stack([np.asarray(image, dtype=np.float32).mean(axis=(0, 1)) for image in images]) * \
            lookup.table["scale"]

    with pytest.raises(InvalidInputError, match=r"user model 'scaled_means'.*closure variable 'lookup'.*"
                                                r"no content hash; pass version="):
        register_user_model("scaled_means", scaled_means)
    register_user_model("scaled_means", scaled_means, version="2024-01")
    features = Extractor("scaled_means", cache=False, progress=False).extract(photos)["output"].values
    np.testing.assert_allclose(features, 2.0 * _channel_means(photos), rtol=1e-5)


def test_a_loaded_model_changed_in_place_is_not_served_from_the_cache(photos, tmp_path):
    cache = FeatureCache(tmp_path)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.AdaptiveAvgPool2d(1))
    loaded = load_model(net, preprocessing=PREPROCESSING, layers=["1"])
    first = Extractor(loaded, cache=cache, progress=False).extract(photos)["1"].values
    with torch.no_grad():
        net[0].bias += 1.0  # e.g. trained further after loading
    second = Extractor(loaded, cache=cache, progress=False).extract(photos)["1"].values
    np.testing.assert_allclose(second, first + 1.0, rtol=1e-5, atol=1e-5)
