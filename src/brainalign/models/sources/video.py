"""Video models: ``n_frames`` sampled uniformly from each clip (PyAV), run through a clip network (3D CNN,
input (clip, channel, time, height, width)) or frame by frame through an image network, pooled over time.

``temporal_pooling`` is ``mean`` (average over the layer's time steps) or ``none`` (keep time: units are
time × features, time-major).

>>> import numpy as np
>>> sample_indices(10, 4).tolist(), sample_indices(2, 4).tolist()
([0, 3, 6, 9], [0, 0, 1, 1])
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from brainalign.core.errors import InvalidInputError
from brainalign.models.card import ModelCard
from brainalign.models.sources.base import ImagePreprocessing, SourceModel
from brainalign.models.sources.hooks import read_layers

TEMPORAL_POOLINGS = ("mean", "none")


def pool_time(tensor: torch.Tensor, pooling: str) -> torch.Tensor:
    """(clip, time, ...) → (clip, ...) averaged over time (``mean``), or (clip, time × ...) with time kept (``none``).

    >>> pool_time(torch.arange(6.0).reshape(1, 3, 2), "mean").tolist()
    [[2.0, 3.0]]
    """
    return tensor.mean(1) if pooling == "mean" else tensor.flatten(1)


def sample_indices(n_available: int, n_frames: int) -> np.ndarray:
    """``n_frames`` frame indices spread uniformly from the first to the last of ``n_available`` frames."""
    return np.linspace(0, n_available - 1, n_frames).round().astype(int)


def read_frames(path: str | os.PathLike, n_frames: int) -> list[Image.Image]:
    """``n_frames`` RGB frames sampled uniformly from the video file ``path``; a file that does not decode raises
    `InvalidInputError` naming it."""
    import av

    try:
        with av.open(str(path)) as container:
            frames = [frame.to_image() for frame in container.decode(video=0)]
    except (av.error.FFmpegError, OSError, IndexError, ValueError) as error:
        raise InvalidInputError(f"cannot decode video {path}: {error}") from error
    if not frames:
        raise InvalidInputError(f"cannot decode video {path}: it holds no video frames")
    return [frames[i].convert("RGB") for i in sample_indices(len(frames), n_frames)]


@dataclass(frozen=True)
class VideoPreprocessing:
    """Frame sampling, per-frame image preprocessing and temporal pooling (all part of the cache key)."""

    frames: ImagePreprocessing
    n_frames: int = 16
    temporal_pooling: str = "mean"

    def __post_init__(self) -> None:
        if self.temporal_pooling not in TEMPORAL_POOLINGS:
            raise InvalidInputError(f"temporal pooling {self.temporal_pooling!r} is not valid; "
                                    f"valid: {', '.join(TEMPORAL_POOLINGS)}")
        if self.n_frames < 1:
            raise InvalidInputError(f"n_frames must be >= 1; got {self.n_frames}")

    def clip(self, path: str | os.PathLike) -> torch.Tensor:
        """A video file as a normalised (time, 3, height, width) float32 tensor."""
        return torch.stack([self.frames.transform(frame) for frame in read_frames(path, self.n_frames)])

    def pool(self, tensor: torch.Tensor) -> torch.Tensor:
        """(clip, time, ...) → (clip, ...) averaged over time, or (clip, time × ...) with time kept."""
        return pool_time(tensor, self.temporal_pooling)

    def as_dict(self) -> dict[str, Any]:
        """Every parameter that changes the features."""
        return dataclasses.asdict(self)


@dataclass
class VideoModel(SourceModel):
    """A clip network (``frame_wise`` False) or an image network applied to each frame (``frame_wise`` True)."""

    frame_wise: bool = False

    def layer_names(self) -> list[str]:
        return [name for name, _ in self.module.named_modules() if name]

    def with_pooling(self, **changes: Any) -> VideoModel:
        """The same model with other ``VideoPreprocessing`` fields (``n_frames``, ``temporal_pooling``)."""
        return dataclasses.replace(self, preprocessing=dataclasses.replace(self.preprocessing, **changes))

    def batch_features(self, stimuli: Any, indices: Sequence[int], layers: Sequence[str]) -> dict[str, np.ndarray]:
        if stimuli.paths is None:
            raise InvalidInputError(f"stimulus set {stimuli.identifier!r} has no video files")
        prep = self.preprocessing
        clips = torch.stack([prep.clip(stimuli.paths[i]) for i in indices]).to(self.device)
        n = len(indices)
        if self.frame_wise:
            inputs = clips.flatten(0, 1)  # (clip × time, 3, H, W)

            def readout(tensor: torch.Tensor) -> torch.Tensor:
                return prep.pool(tensor.reshape(n, -1, *tensor.shape[1:]))
        else:
            inputs = clips.transpose(1, 2)  # (clip, 3, time, H, W)

            def readout(tensor: torch.Tensor) -> torch.Tensor:  # 3D conv outputs: (clip, channel, time, H, W)
                return prep.pool(tensor.transpose(1, 2)) if tensor.ndim == 5 else tensor

        features, _ = read_layers(self.module, lambda: self.module(inputs), layers, readout)
        return features


def video_model(card: ModelCard, network: torch.nn.Module, frames: ImagePreprocessing, weights_checksum: str,
                device: str) -> VideoModel:
    """A built image or clip ``network`` of a video card, with sampling and pooling from ``card.extra``
    (``n_frames`` default 16, ``temporal_pooling`` default mean, ``frame_wise`` default False)."""
    preprocessing = VideoPreprocessing(frames, int(card.extra.get("n_frames", 16)),
                                       card.extra.get("temporal_pooling", "mean"))
    return VideoModel(card, network, preprocessing, weights_checksum, device,
                      frame_wise=bool(card.extra.get("frame_wise", False)))


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 8) -> Path:
    """Write (time, height, width, 3) uint8 ``frames`` as an H.264 / MPEG-4 file (for tests and demos).

    >>> import tempfile, pathlib
    >>> path = write_video(pathlib.Path(tempfile.mkdtemp()) / "v.mp4", np.zeros((4, 32, 32, 3), "uint8"))
    >>> len(read_frames(path, 4))
    4
    """
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        container.mux(stream.encode())
    return Path(path)
