"""ONNX models: intermediate node outputs read through onnxruntime equal the torch model's hooked features."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign.core.errors import UnknownNameError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.extractor import Extractor, list_layers
from brainalign.models.loading import ImagePreprocessing, load_model
from brainalign.models.sources.user import register_user_model

PREPROCESSING = ImagePreprocessing(image_size=32, resize_size=36)
PAIRS = {"/conv1/Conv_output_0": "conv1", "/relu1/Relu_output_0": "relu1", "/pool/GlobalAveragePool_output_0": "pool",
         "logits": "fc"}  # ONNX node output -> torch module


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.relu1 = torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU()
        self.conv2, self.relu2 = torch.nn.Conv2d(8, 16, 3, stride=2), torch.nn.ReLU()
        self.pool, self.fc = torch.nn.AdaptiveAvgPool2d(1), torch.nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x))))).flatten(1))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = SmallNet().eval()
    path = tmp_path_factory.mktemp("onnx") / "small.onnx"
    torch.onnx.export(net, torch.rand(1, 3, 32, 32), path, dynamo=False, input_names=["images"],
                      output_names=["logits"], dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    return net, path


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> StimulusSet:
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    return StimulusSet.from_folder(folder, identifier="photos")


def test_intermediate_onnx_outputs_equal_torch_hooks(exported, photos):
    net, path = exported
    register_user_model("small_onnx", path, preprocessing=PREPROCESSING, layers=list(PAIRS))
    model = load_model("small_onnx")
    assert set(PAIRS) <= set(list_layers(model)) and model.card.parameters == sum(p.numel() for p in net.parameters())
    features = Extractor(model, batch_size=2, cache=False, progress=False).extract(photos)
    images = torch.stack([PREPROCESSING.transform(photos.load_image(i)) for i in range(len(photos))])
    captured = {}
    handles = [net.get_submodule(name).register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o))
               for name in PAIRS.values()]
    with torch.no_grad():
        net(images)
    for handle in handles:
        handle.remove()
    for onnx_name, torch_name in PAIRS.items():
        assert list(features[onnx_name].stimulus_id.values) == photos.stimulus_ids
        np.testing.assert_allclose(features[onnx_name].values, captured[torch_name].reshape(5, -1).numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_unknown_onnx_layer_lists_the_node_outputs(exported):
    _, path = exported
    with pytest.raises(UnknownNameError, match="unknown layer 'conv1'.*/conv1/Conv_output_0"):
        register_user_model("small_onnx_bad", path, layers=["conv1"])
