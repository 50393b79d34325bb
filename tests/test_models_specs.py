"""``load_model`` / ``list_layers`` for every kind of model: torch modules, callables, ``file.py:factory``, TorchScript
and ONNX files; the result works with the `Extractor` and `BrainModel`; devices come from the compute context and
bad devices are clear errors."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.stimuli import StimulusSet
from brainalign.models import loading
from brainalign.models.extractor import Extractor
from brainalign.models.loading import ImagePreprocessing, list_layers, load_model
from brainalign.runner.brain_model import BrainModel

PREPROCESSING = ImagePreprocessing(image_size=16, resize_size=16)


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(4 * 14 * 14, 3)).eval()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> StimulusSet:
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(2)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (20, 22, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    return StimulusSet.from_folder(folder, identifier="photos")


def _images(photos: StimulusSet) -> torch.Tensor:
    return torch.stack([PREPROCESSING.transform(photos.load_image(i)) for i in range(len(photos))])


def test_a_torch_module_loads_directly_and_its_features_equal_a_forward_pass(photos):
    net = _net()
    loaded = load_model(net, preprocessing=PREPROCESSING, device="cpu")
    assert loaded.card.source == "user" and loaded.identifier.startswith("Sequential-")
    assert load_model(_net(seed=1), preprocessing=PREPROCESSING).identifier != loaded.identifier
    assert list_layers(net) == ["0", "1", "2", "3", "4"]
    features = Extractor(loaded, layers=["2", "4"], cache=False, progress=False).extract(photos)
    with torch.no_grad():
        relu = net[2](net[1](net[0](_images(photos))))
        logits = net(_images(photos))
    np.testing.assert_allclose(features["2"].values, relu.reshape(3, -1).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features["4"].values, logits.numpy(), rtol=1e-5, atol=1e-6)


def test_brain_model_takes_a_module_and_records_its_layer(photos):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1)).eval()
    model = BrainModel(net, region_layers={"IT": "2"}, cache=False)  # default preprocessing: 224 pixels
    assert model.model.card.source == "user"
    model.start_recording("IT")
    images = torch.stack([ImagePreprocessing(224, 256).transform(photos.load_image(i)) for i in range(3)])
    with torch.no_grad():
        expected = net[2](net[1](net[0](images))).reshape(3, -1)
    np.testing.assert_allclose(model.look_at(photos).values, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_a_callable_loads_directly(photos):
    def channel_means(images):
        return {"means": np.stack([np.asarray(image, dtype=np.float32).mean(axis=(0, 1)) for image in images])}

    loaded = load_model(channel_means, layers=["means"], identifier="channel_means")
    assert loaded.identifier == "channel_means" and list_layers(loaded) == ["means"]
    features = Extractor(loaded, cache=False, progress=False).extract(photos)["means"].values
    expected = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32).mean(axis=(0, 1)) for p in photos.paths]
    np.testing.assert_allclose(features, np.stack(expected), rtol=1e-6)


def test_a_python_file_factory_spec(photos, tmp_path):
    path = tmp_path / "my_net.py"
    path.write_text(textwrap.dedent("""
        import torch

        class Tiny(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv, self.pool = torch.nn.Conv2d(3, 2, 3), torch.nn.AdaptiveAvgPool2d(1)

            def forward(self, x):
                return self.pool(self.conv(x)).flatten(1)

        def build():
            torch.manual_seed(7)
            return Tiny().eval()
    """))
    spec = f"{path}:build"
    assert list_layers(spec) == ["conv", "pool"]
    loaded = load_model(spec, preprocessing=PREPROCESSING)
    assert loaded.identifier == "my_net:build" and loaded.card.architecture == "Tiny"
    features = Extractor(loaded, layers=["pool"], cache=False, progress=False).extract(photos)["pool"].values
    torch.manual_seed(7)
    conv = torch.nn.Conv2d(3, 2, 3)  # the factory's seeded initialisation, rebuilt here
    with torch.no_grad():
        expected = conv(_images(photos)).mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(UnknownNameError, match="unknown factory in .*my_net.py 'biuld'; did you mean 'build'"):
        load_model(f"{path}:biuld")


def test_a_torchscript_archive_spec(photos, tmp_path):
    net = _net()
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(net), path)
    assert list_layers(str(path), preprocessing=PREPROCESSING) == ["output"]
    loaded = load_model(path, preprocessing=PREPROCESSING)
    assert loaded.identifier == "scripted" and loaded.card.weights_file == str(path)
    features = Extractor(loaded, cache=False, progress=False).extract(photos)["output"].values
    with torch.no_grad():
        expected = net(_images(photos)).numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)
    torch.save(net.state_dict(), tmp_path / "state.pt")
    with pytest.raises(InvalidInputError, match="not a TorchScript archive.*register the module itself with weights="):
        load_model(tmp_path / "state.pt")


def test_an_onnx_file_spec(tmp_path):
    net = _net()
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, torch.rand(1, 3, 16, 16), path, dynamo=False, input_names=["images"],
                      output_names=["logits"], dynamic_axes={"images": {0: "batch"}})
    layers = list_layers(str(path))
    assert layers[-1] == "logits" and len(layers) >= 4
    assert load_model(str(path)).card.source == "onnx"


def test_bad_specs_and_options_say_what_is_valid(tmp_path):
    (tmp_path / "weights.h5").write_bytes(b"")
    with pytest.raises(InvalidInputError, match=r"model spec '.*weights.h5' is not valid; give a catalog identifier.*"
                                                r"'path/to/file.py:factory'"):
        load_model(str(tmp_path / "weights.h5"))
    with pytest.raises(InvalidInputError, match=f"model file {tmp_path / 'none.py'} does not exist"):
        load_model(f"{tmp_path / 'none.py'}:build")
    with pytest.raises(UnknownNameError, match="unknown model 'alexnett'; did you mean 'alexnet'"):
        load_model("alexnett")
    with pytest.raises(InvalidInputError, match=r"options \['layers'\] only apply to models registered on the way"):
        load_model("alexnet", layers=["features.0"])
    with pytest.raises(InvalidInputError, match="cannot load a model from a int"):
        load_model(3)


@pytest.mark.parametrize("make", [lambda device: Extractor("efficientnet_lite0_random", device=device, cache=False),
                                  lambda device: BrainModel("efficientnet_lite0_random", device=device)],
                         ids=["extractor", "brain_model"])
def test_invalid_devices_are_clear_errors(make):
    with pytest.raises(InvalidInputError, match="device 'foo' is not valid; use 'cpu', 'cuda', 'cuda:N' or 'mps'"):
        make("foo")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="device 'cuda' was requested but torch sees no CUDA GPU"):
            make("cuda")


def test_the_device_comes_from_the_compute_context_when_none_is_given(monkeypatch):
    monkeypatch.setattr(loading, "default_device", lambda: "meta")  # what the context would choose
    assert BrainModel(_net(), cache=False).model.device == "meta"
    extractor = Extractor(_net(), layers=["0"], cache=False)
    assert extractor.model.device == "meta" and next(extractor.model.module.parameters()).device.type == "meta"
