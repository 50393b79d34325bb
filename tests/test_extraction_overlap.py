"""Extraction overlap: decoding in worker threads gives the same features in the same order as decoding in the
calling thread, really runs during the forward pass, stops cleanly on errors; autocast precision on CPU."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign.core.errors import InvalidInputError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.card import ModelCard
from brainalign.models.extractor import Extractor
from brainalign.models.feature_cache import FeatureCache
from brainalign.models.loading import ImagePreprocessing, LoadedModel


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(32, 5))


@pytest.fixture(scope="module")
def stimuli(tmp_path_factory) -> StimulusSet:
    """Eleven seeded noise images of different sizes (11 is not a multiple of the batch sizes used)."""
    folder = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(0)
    for i in range(11):
        size = (int(rng.integers(20, 40)), int(rng.integers(20, 40)))
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"n{i}.png")
    return StimulusSet.from_folder(folder, identifier="noise")


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    """A small image network read by the extractor's own hooks (the path that decodes in worker threads)."""
    card = ModelCard(identifier="overlap_net", source="torchvision", architecture="overlap_net", family="CNN",
                     task="test", training_data="none", training_method="random", modality="image",
                     parameters=261, default_layers=["1", "4"], input_size=16)
    return LoadedModel(card, _net().eval(), ImagePreprocessing(16, 18), "seed0")


class SlowImages:
    """``stimuli`` whose decoding takes ``delay`` seconds per image and logs (event, index, start, end, thread)."""

    def __init__(self, stimuli: StimulusSet, delay: float, fail_at: int | None = None):
        self.identifier, self.stimulus_ids, self.modality = stimuli.identifier, stimuli.stimulus_ids, stimuli.modality
        self.stimuli, self.delay, self.fail_at = stimuli, delay, fail_at
        self.log: list[tuple[str, int, float, float, int]] = []

    def __len__(self) -> int:
        return len(self.stimuli)

    def load_image(self, i: int) -> Image.Image:
        if i == self.fail_at:
            raise InvalidInputError(f"cannot decode image {i}")
        begin = time.perf_counter()
        time.sleep(self.delay)
        self.log.append(("load", i, begin, time.perf_counter(), threading.get_ident()))
        return self.stimuli.load_image(i)


@pytest.mark.parametrize("batch_size", [1, 3, 4])
def test_worker_threads_give_identical_features_in_order(model, stimuli, batch_size):
    serial = Extractor(model, batch_size=batch_size, cache=False, progress=False, workers=0).extract(stimuli)
    for workers in (1, 3):
        threaded = Extractor(model, batch_size=batch_size, cache=False, progress=False,
                             workers=workers).extract(stimuli)
        for layer in ("1", "4"):
            assert threaded[layer].stimulus_id.values.tolist() == stimuli.stimulus_ids
            np.testing.assert_array_equal(threaded[layer].values, serial[layer].values)


def test_cached_extraction_with_workers_equals_serial_memory_extraction(model, stimuli, tmp_path):
    serial = Extractor(model, batch_size=4, cache=False, progress=False, workers=0).extract(stimuli)
    cached = Extractor(model, batch_size=4, cache=FeatureCache(tmp_path), progress=False, workers=2).extract(stimuli)
    np.testing.assert_array_equal(cached["4"].values, serial["4"].values)


def test_next_batches_decode_while_the_model_runs(model, stimuli):
    """The first forward pass waits until an image of a later batch starts decoding: with worker threads that
    happens (decoding overlaps the forward pass, in another thread); decoding in the calling thread cannot.
    Synchronised with events, not timed: the wait's timeout only bounds a failing run."""
    first_batch = 2
    later_decode = threading.Event()
    overlapped: list[bool] = []

    class Watched(SlowImages):
        def load_image(self, i: int) -> Image.Image:
            if i >= first_batch:
                later_decode.set()
            return super().load_image(i)

    def first_forward_waits(_module, _inputs):
        if not overlapped:
            overlapped.append(later_decode.wait(timeout=0 if workers == 0 else 30))

    handle = model.module.register_forward_pre_hook(first_forward_waits)
    try:
        for workers in (0, 2):
            later_decode.clear()
            overlapped.clear()
            watched = Watched(stimuli, delay=0.0)
            Extractor(model, batch_size=first_batch, cache=False, progress=False, workers=workers).extract(watched)
            assert overlapped == [workers > 0]
            decoding_threads = {thread for *_, thread in watched.log}
            assert (threading.get_ident() in decoding_threads) == (workers == 0)
    finally:
        handle.remove()


def test_decoding_error_in_a_worker_reaches_the_caller(model, stimuli):
    slow = SlowImages(stimuli, delay=0.0, fail_at=7)
    with pytest.raises(InvalidInputError, match="cannot decode image 7"):
        Extractor(model, batch_size=2, cache=False, progress=False, workers=2).extract(slow)
    assert not [t for t in threading.enumerate() if t.name.startswith("brainalign-decode")]


def test_bfloat16_autocast_on_cpu_is_close_and_cached_apart(model, stimuli, tmp_path):
    if not hasattr(torch, "autocast"):
        pytest.skip("torch without autocast")
    cache = FeatureCache(tmp_path)
    full = Extractor(model, batch_size=4, cache=cache, progress=False).extract(stimuli)
    half = Extractor(model, batch_size=4, cache=cache, progress=False, precision="bfloat16").extract(stimuli)
    assert len(list(tmp_path.glob("*.h5"))) == 4  # 2 layers x 2 precisions: never read from each other's files
    for layer in ("1", "4"):
        assert half[layer].dtype == np.float32
        difference = np.abs(half[layer].values - full[layer].values).max()
        assert 0 < difference <= 0.02 * np.abs(full[layer].values).max()  # bfloat16 keeps 8 bits of mantissa


@pytest.mark.parametrize(("option", "value", "message"), [
    ("workers", -1, "workers must be >= 0"), ("precision", "int8", "precision 'int8' is not valid"),
])
def test_bad_options_are_named(model, option, value, message):
    with pytest.raises(InvalidInputError, match=message):
        Extractor(model, cache=False, progress=False, **{option: value})


def test_default_decodes_in_the_calling_thread_on_the_cpu(model):
    """On a CPU the forward pass uses every core, so decoding threads are only the default on a GPU."""
    from brainalign.models.extractor import GPU_WORKERS

    assert Extractor(model, cache=False, progress=False).workers == 0
    assert Extractor(model, cache=False, progress=False, workers=3).workers == 3
    assert GPU_WORKERS >= 1
