"""Audio models: reading and resampling against scipy, hidden states pooled over time equal a direct forward pass
of tiny random wav2vec 2.0 / HuBERT / Whisper encoders on sine waves, clips of other lengths never padded
together, the random twin, and the Extractor over an audio stimulus set."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.io.wavfile
import scipy.signal
import torch

from brainalign.core.errors import InvalidInputError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.card import ModelCard, random_twin
from brainalign.models.compat import import_torchvision
from brainalign.models.extractor import Extractor
from brainalign.models.feature_cache import FeatureCache
from brainalign.models.loading import load_model
from brainalign.models.sources.audio import read_audio, resample

soundfile = pytest.importorskip("soundfile")
import_torchvision()
transformers = pytest.importorskip("transformers")

RATE = 16000


def _sine(frequency: float, seconds: float, rate: int, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * t + phase)).astype(np.float32)


def _card(identifier: str, directory, **fields) -> ModelCard:
    base = dict(identifier=identifier, source="audio", architecture=f"test/{identifier}", family="ViT",
                task="speech representation", training_data="none", training_method="self-supervised",
                modality="audio", parameters=0, default_layers=["hidden_states.1"], input_size=0, weights="local",
                weights_file=str(directory))
    return ModelCard(**{**base, **fields})


def _save(folder, model, feature_extractor):
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    feature_extractor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A mirror holding tiny randomly initialised encoders, saved like downloaded models (``<org>--<name>``)."""
    root = tmp_path_factory.mktemp("mirror")
    torch.manual_seed(0)
    conv = dict(conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16,
                num_conv_pos_embedding_groups=2, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=37)
    speech = transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=RATE, do_normalize=True,
                                                   return_attention_mask=False)
    _save(root / "test--wav2vec2", transformers.Wav2Vec2Model(transformers.Wav2Vec2Config(**conv)), speech)
    _save(root / "test--hubert", transformers.HubertModel(transformers.HubertConfig(**conv)), speech)
    whisper = transformers.WhisperModel(transformers.WhisperConfig(
        d_model=16, encoder_layers=2, encoder_attention_heads=2, decoder_layers=1, decoder_attention_heads=2,
        encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=8, max_source_positions=50, max_target_positions=8,
        vocab_size=60, pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1))
    mels = transformers.WhisperFeatureExtractor(feature_size=8, sampling_rate=RATE, hop_length=160, chunk_length=1,
                                                n_fft=400)
    _save(root / "test--whisper", whisper, mels)
    return root


@pytest.fixture(scope="module")
def sounds(tmp_path_factory) -> StimulusSet:
    """Four sine tones: wav files at 16 kHz and 8 kHz, a stereo flac at 22.05 kHz, one shorter clip."""
    folder = tmp_path_factory.mktemp("sounds")
    scipy.io.wavfile.write(folder / "a440.wav", RATE, _sine(440, 0.25, RATE))
    scipy.io.wavfile.write(folder / "b880_8k.wav", 8000, _sine(880, 0.25, 8000))
    stereo = np.stack([_sine(660, 0.25, 22050), _sine(330, 0.25, 22050)], axis=1)
    soundfile.write(folder / "c_stereo.flac", stereo, 22050)
    scipy.io.wavfile.write(folder / "d_short.wav", RATE, _sine(220, 0.15, RATE))
    return StimulusSet.from_audio_folder(folder, identifier="tones")


def _normalised(waveform: np.ndarray) -> torch.Tensor:
    """wav2vec 2.0 input normalisation written out: zero mean, unit variance (+1e-7)."""
    return torch.from_numpy((waveform - waveform.mean()) / np.sqrt(waveform.var() + 1e-7))[None]


def test_resampling_is_scipy_polyphase_and_keeps_the_tone():
    tone = _sine(1000, 0.5, 44100)
    resampled = resample(tone, 44100, RATE)
    np.testing.assert_array_equal(resampled, scipy.signal.resample_poly(tone, 160, 441).astype(np.float32))
    assert len(resampled) == 8000
    spectrum = np.abs(np.fft.rfft(resampled))
    assert np.fft.rfftfreq(len(resampled), 1 / RATE)[spectrum.argmax()] == pytest.approx(1000, abs=2)
    assert resample(tone, 44100, 44100) is tone


def test_read_audio_mixes_channels_to_mono(sounds):
    samples, rate = read_audio(sounds.paths[2])
    assert rate == 22050
    expected = (_sine(660, 0.25, 22050) + _sine(330, 0.25, 22050)) / 2
    np.testing.assert_allclose(samples, expected, atol=2 / 2**15)  # 16-bit flac quantisation


@pytest.mark.parametrize("name", ["wav2vec2", "hubert"])
def test_pooled_hidden_states_equal_a_direct_forward_pass(mirror, sounds, name):
    model = load_model(_card(name, mirror / f"test--{name}"), device="cpu")
    assert model.layer_names() == ["hidden_states.0", "hidden_states.1", "hidden_states.2"]
    features = model.batch_features(sounds, range(len(sounds)), ["hidden_states.0", "hidden_states.2"])
    for row, path in enumerate(sounds.paths):
        samples, rate = read_audio(path)
        waveform = scipy.signal.resample_poly(samples, RATE // math.gcd(rate, RATE), rate // math.gcd(rate, RATE))
        with torch.no_grad():
            hidden = model.module(_normalised(waveform.astype(np.float32)), output_hidden_states=True).hidden_states
        for layer, index in (("hidden_states.0", 0), ("hidden_states.2", 2)):
            np.testing.assert_allclose(features[layer][row], hidden[index][0].mean(0).numpy(), rtol=1e-4, atol=1e-5)


def test_time_kept_with_a_fixed_duration(mirror, sounds):
    model = load_model(_card("wav2vec2", mirror / "test--wav2vec2"), device="cpu").with_pooling(
        temporal_pooling="none", duration=0.2)
    features = model.batch_features(sounds, [0, 3], ["hidden_states.1"])["hidden_states.1"]
    waveform = read_audio(sounds.paths[3])[0]
    padded = np.pad(waveform, (0, round(0.2 * RATE) - len(waveform)))
    with torch.no_grad():
        hidden = model.module(_normalised(padded), output_hidden_states=True).hidden_states[1][0]
    np.testing.assert_allclose(features[1], hidden.flatten().numpy(), rtol=1e-4, atol=1e-5)
    assert features.shape == (2, hidden.numel())
    with pytest.raises(InvalidInputError, match="set a duration"):
        model.with_pooling(duration=None).batch_features(sounds, [0, 3], ["hidden_states.1"])


def test_whisper_encoder_pools_only_the_frames_of_the_sound(mirror, sounds):
    model = load_model(_card("whisper", mirror / "test--whisper"), device="cpu")
    assert model.layer_names() == ["hidden_states.0", "hidden_states.1", "hidden_states.2"]
    features = model.batch_features(sounds, [3], ["hidden_states.2"])["hidden_states.2"]
    waveform = read_audio(sounds.paths[3])[0]
    mels = model.preprocessing.feature_extractor(waveform, sampling_rate=RATE, return_tensors="pt").input_features
    with torch.no_grad():
        hidden = model.module(mels, output_hidden_states=True).hidden_states[2][0]
    frames = math.ceil(len(waveform) / 320)  # 10 ms mel hop, then a stride-2 conv: 20 ms per encoder frame
    assert frames < hidden.shape[0]
    np.testing.assert_allclose(features[0], hidden[:frames].mean(0).numpy(), rtol=1e-4, atol=1e-5)


def test_random_twin_from_the_mirror_is_seeded(mirror, sounds, monkeypatch):
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(mirror))
    twin = random_twin(_card("wav2vec2", mirror / "test--wav2vec2"))
    first, again = load_model(twin, device="cpu", seed=1), load_model(twin, device="cpu", seed=1)
    trained = load_model(_card("wav2vec2", mirror / "test--wav2vec2"), device="cpu")
    assert first.weights_checksum == "random-seed1"
    layer = ["hidden_states.2"]
    np.testing.assert_array_equal(first.batch_features(sounds, [0], layer)[layer[0]],
                                  again.batch_features(sounds, [0], layer)[layer[0]])
    assert not np.allclose(first.batch_features(sounds, [0], layer)[layer[0]],
                           trained.batch_features(sounds, [0], layer)[layer[0]])


def test_extractor_runs_audio_stimuli_through_the_cache(mirror, sounds, tmp_path):
    model = load_model(_card("hubert", mirror / "test--hubert"), device="cpu")
    direct = model.batch_features(sounds, range(len(sounds)), ["hidden_states.1"])["hidden_states.1"]
    features = Extractor(model, batch_size=3, cache=FeatureCache(tmp_path), progress=False).extract(sounds)
    np.testing.assert_allclose(features["hidden_states.1"].values, direct, rtol=1e-5, atol=1e-6)
    assert features["hidden_states.1"].stimulus_id.values.tolist() == sounds.stimulus_ids
    image_like = dataclasses.replace(sounds, modality="image")
    with pytest.raises(InvalidInputError, match="audio stimuli"):
        Extractor(model, cache=False, progress=False).extract(image_like)
    with pytest.raises(InvalidInputError, match="no layer 'hidden_states.9'"):
        model.batch_features(sounds, [0], ["hidden_states.9"])
