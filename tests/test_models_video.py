"""Video models: uniform frame sampling from real encoded files, clip-network and frame-wise features equal bare
forward passes read with manual hooks, temporal pooling, decode errors naming the file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign.core.errors import InvalidInputError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.compat import import_torchvision
from brainalign.models.extractor import Extractor
from brainalign.models.loading import load_model
from brainalign.models.sources.video import read_frames, write_video

pytestmark = pytest.mark.slow  # decodes and runs video networks (~10 s per test on 2 cores)

N_FRAMES = 12
LEVELS = np.arange(N_FRAMES) * 20  # frame i is a flat grey of level 20 i: sampling can be read off the pixels


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> StimulusSet:
    folder = tmp_path_factory.mktemp("videos")
    rng = np.random.default_rng(0)
    grey = np.repeat(LEVELS, 64 * 80 * 3).reshape(N_FRAMES, 64, 80, 3).astype(np.uint8)
    noise = rng.integers(0, 256, (N_FRAMES, 64, 80, 3), dtype=np.uint8)
    paths = [write_video(folder / "grey.mp4", grey), write_video(folder / "noise.mp4", noise)]
    return StimulusSet("clips", ["grey", "noise"], paths=paths, modality="video")


def _reference_clip(path, n_frames: int, size: int, resize: int, mean, std) -> torch.Tensor:
    """(time, 3, size, size): the sampled frames through a hand-built torchvision pipeline."""
    transforms = import_torchvision().transforms
    pipeline = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(size), transforms.ToTensor(),
                                   transforms.Normalize(mean, std)])
    return torch.stack([pipeline(frame) for frame in read_frames(path, n_frames)])


def _hooked(module: torch.nn.Module, inputs: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
    captured = {}
    handles = [module.get_submodule(name).register_forward_hook(
        lambda m, i, o, name=name: captured.__setitem__(name, o)) for name in layers]
    with torch.no_grad():
        module(inputs)
    for handle in handles:
        handle.remove()
    return captured


def test_frames_are_sampled_uniformly_from_first_to_last(videos):
    frames = read_frames(videos.paths[0], 4)
    levels = [np.asarray(frame, dtype=float).mean() for frame in frames]
    np.testing.assert_allclose(levels, LEVELS[[0, 4, 7, 11]], atol=4)  # linspace(0, 11, 4) rounded


def test_clip_network_features_equal_manual_hooks_with_temporal_pooling(videos):
    torch.set_num_threads(2)
    model = load_model("mc3_18", device="cpu").with_pooling(n_frames=4)
    card, layers = model.card, ["layer1", "layer4", "avgpool"]
    clips = torch.stack([_reference_clip(p, 4, card.input_size, card.resize_size, card.mean, card.std)
                         for p in videos.paths]).transpose(1, 2)
    reference = _hooked(model.module, clips, layers)
    mean = Extractor(model, layers=layers, batch_size=1, cache=False, progress=False).extract(videos)
    kept = Extractor(model.with_pooling(temporal_pooling="none"), layers=layers, cache=False,
                     progress=False).extract(videos)
    for layer in layers:
        expected = reference[layer]  # (clip, channel, time, H, W)
        np.testing.assert_allclose(mean[layer].values, expected.mean(2).reshape(2, -1).numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(kept[layer].values, expected.transpose(1, 2).reshape(2, -1).numpy(),
                                   rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def frames_model():
    return load_model("efficientnet_lite0_frames", device="cpu")


def test_frame_wise_image_network_averages_per_frame_features(videos, frames_model):
    model = frames_model.with_pooling(n_frames=3)
    card, layers = model.card, ["blocks.2", "global_pool"]
    features = Extractor(model, layers=layers, cache=False, progress=False).extract(videos)
    for row, path in enumerate(videos.paths):
        frames = _reference_clip(path, 3, card.input_size, card.resize_size, card.mean, card.std)
        reference = _hooked(model.module, frames, layers)
        for layer in layers:
            expected = reference[layer].reshape(3, -1).mean(0).numpy()
            np.testing.assert_allclose(features[layer].values[row], expected, rtol=1e-4, atol=1e-5)


def test_undecodable_video_and_wrong_modality_raise_clear_errors(videos, frames_model, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    with pytest.raises(InvalidInputError, match="cannot decode video .*broken.mp4"):
        read_frames(broken, 4)
    model = frames_model
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    with pytest.raises(InvalidInputError, match="holds image stimuli; model 'efficientnet_lite0_frames' takes video"):
        Extractor(model, cache=False, progress=False).extract(StimulusSet.from_folder(tmp_path))
    with pytest.raises(InvalidInputError, match="holds video stimuli; model 'squeezenet1_1' takes image"):
        Extractor("squeezenet1_1", layers=["features.3"], cache=False, progress=False).extract(videos)
    with pytest.raises(InvalidInputError, match="temporal pooling 'max' is not valid; valid: mean, none"):
        model.with_pooling(temporal_pooling="max")
