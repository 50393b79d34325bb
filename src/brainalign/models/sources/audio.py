"""Audio models (the ``audio`` source): Hugging Face speech encoders — wav2vec 2.0, HuBERT, WavLM, the encoder of
Whisper — read at their hidden states, pooled over time.

A sound file (wav, flac, ogg; read with soundfile) is mixed down to mono, resampled to the model's rate with a
polyphase filter (``scipy.signal.resample_poly``), optionally cropped / zero-padded to ``duration`` seconds, then
turned into model inputs by the model's own feature extractor (waveform normalisation, or log-mel spectrogram
for Whisper). Layers are ``hidden_states.0`` (the encoder's input embedding) to ``hidden_states.<n layers>``, each
(clip, time, unit), pooled over time (``mean``) or kept (``none``: units are time × features, time-major).
Clips of different lengths run in separate forward passes (never padded together, so no padding reaches the
features); Whisper pads every clip to 30 s, and only the frames covering the sound are pooled.

>>> resample(np.ones(8, "float32"), 8000, 16000).shape
(16,)
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from brainalign.core.errors import InvalidInputError
from brainalign.models.card import ModelCard
from brainalign.models.sources.base import SourceModel
from brainalign.models.sources.hf import import_transformers, load_pretrained
from brainalign.models.sources.registry import MODEL_SOURCES
from brainalign.models.sources.video import TEMPORAL_POOLINGS, pool_time

HIDDEN_STATES = "hidden_states"


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """The samples of a sound file as a mono float32 array in [-1, 1] (channels averaged) and its sampling rate;
    a file that does not decode raises `InvalidInputError` naming it."""
    import soundfile

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise InvalidInputError(f"cannot decode sound file {path}: {error}") from error
    return samples.mean(axis=1), int(rate)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``samples`` at ``rate`` Hz resampled to ``target`` Hz (polyphase filter, exact rational factor)."""
    if rate == target:
        return samples.astype(np.float32, copy=False)
    import scipy.signal

    divisor = math.gcd(rate, target)
    return scipy.signal.resample_poly(samples, target // divisor, rate // divisor).astype(np.float32)


@dataclass(frozen=True)
class AudioPreprocessing:
    """Sampling rate, clip length and pooling, plus the model's feature-extractor settings (all in the cache key)."""

    sampling_rate: int
    duration: float | None = None
    temporal_pooling: str = "mean"
    feature_extractor: Any = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.temporal_pooling not in TEMPORAL_POOLINGS:
            raise InvalidInputError(f"temporal pooling {self.temporal_pooling!r} is not valid; "
                                    f"valid: {', '.join(TEMPORAL_POOLINGS)}")
        if self.duration is not None and self.duration <= 0:
            raise InvalidInputError(f"duration must be > 0 seconds; got {self.duration}")

    def waveform(self, path: str | os.PathLike) -> np.ndarray:
        """A sound file as mono float32 samples at ``sampling_rate``, cropped / zero-padded to ``duration``."""
        samples, rate = read_audio(path)
        samples = resample(samples, rate, self.sampling_rate)
        if self.duration is not None:
            n = round(self.duration * self.sampling_rate)
            samples = np.pad(samples[:n], (0, max(0, n - len(samples))))
        return samples

    def as_dict(self) -> dict[str, Any]:
        """Every parameter that changes the features."""
        settings = None if self.feature_extractor is None else self.feature_extractor.to_json_string()
        return {"sampling_rate": self.sampling_rate, "duration": self.duration,
                "temporal_pooling": self.temporal_pooling, "feature_extractor": settings}


@dataclass
class AudioModel(SourceModel):
    """A speech encoder: ``module`` is called on the feature extractor's output with ``output_hidden_states``;
    ``frame_samples`` (Whisper) is the number of samples per output frame, to drop frames of padding."""

    frame_samples: int | None = None

    def layer_names(self) -> list[str]:
        return [f"{HIDDEN_STATES}.{i}" for i in range(self.module.config.num_hidden_layers + 1)]

    def with_pooling(self, **changes: Any) -> AudioModel:
        """The same model with other ``AudioPreprocessing`` fields (``duration``, ``temporal_pooling``)."""
        return dataclasses.replace(self, preprocessing=dataclasses.replace(self.preprocessing, **changes))

    def batch_features(self, stimuli: Any, indices: Sequence[int], layers: Sequence[str]) -> dict[str, np.ndarray]:
        if stimuli.paths is None or getattr(stimuli, "modality", "audio") != "audio":
            raise InvalidInputError(f"stimulus set {stimuli.identifier!r} has no sound files for {self.identifier!r}")
        valid = self.layer_names()
        for layer in layers:
            if layer not in valid:
                raise InvalidInputError(f"model {self.identifier!r} has no layer {layer!r}; valid: {', '.join(valid)}")
        prep = self.preprocessing
        waveforms = [prep.waveform(stimuli.paths[i]) for i in indices]
        by_length: dict[int, list[int]] = defaultdict(list)
        for row, waveform in enumerate(waveforms):
            by_length[len(waveform)].append(row)
        rows: dict[str, list[tuple[int, np.ndarray]]] = {layer: [] for layer in layers}
        for length, members in by_length.items():
            hidden = self.hidden_states([waveforms[row] for row in members])
            frames = None if self.frame_samples is None else math.ceil(length / self.frame_samples)
            for layer in layers:
                states = hidden[int(layer.rsplit(".", 1)[1])][:, :frames]
                pooled = pool_time(states, prep.temporal_pooling).to("cpu", torch.float32).numpy()
                rows[layer].extend(zip(members, pooled, strict=True))
        features = {}
        for layer in layers:
            shapes = {values.shape for _, values in rows[layer]}
            if len(shapes) > 1:
                raise InvalidInputError(f"clips of different lengths give {len(shapes)} different numbers of "
                                        f"units with temporal_pooling 'none'; set a duration for {self.identifier!r}")
            features[layer] = np.stack([values for _, values in sorted(rows[layer], key=lambda item: item[0])])
        return features

    def hidden_states(self, waveforms: Sequence[np.ndarray]) -> tuple[torch.Tensor, ...]:
        """The encoder's (clip, time, unit) hidden states for equally long ``waveforms`` (no gradients)."""
        inputs = self.preprocessing.feature_extractor(list(waveforms), sampling_rate=self.preprocessing.sampling_rate,
                                                      return_tensors="pt")
        inputs = {key: value.to(self.device) for key, value in inputs.items() if key != "attention_mask"}
        with torch.inference_mode():
            return self.module(**inputs, output_hidden_states=True).hidden_states


@MODEL_SOURCES.register("audio")
def load_audio_model(card: ModelCard, device: str = "cpu", seed: int = 0) -> AudioModel:
    """Feature extractor and encoder of an audio card (``architecture`` = Hugging Face hub id), in eval mode.

    Weights as for text models (offline package, ``local`` model directory, ``hub`` from a mirror or the Hugging
    Face cache); ``random`` builds the architecture from the hub id's config with a random initialisation drawn
    with ``seed``. ``card.extra``: ``duration`` (seconds) and ``temporal_pooling`` (default mean); the sampling
    rate is the feature extractor's.
    """
    model, location, checksum = load_pretrained(card, seed)
    feature_extractor = import_transformers().AutoFeatureExtractor.from_pretrained(location, local_files_only=True)
    whisper = model.config.is_encoder_decoder
    encoder = model.get_encoder() if whisper else model
    preprocessing = AudioPreprocessing(int(feature_extractor.sampling_rate), card.extra.get("duration"),
                                       card.extra.get("temporal_pooling", "mean"), feature_extractor)
    frame_samples = feature_extractor.hop_length * 2 if whisper else None  # Whisper's second conv has stride 2
    return AudioModel(card, encoder.eval().to(device), preprocessing, checksum, device, frame_samples=frame_samples)
