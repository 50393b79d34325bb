"""Streaming extraction: on-disk stores equal in-memory features, killed runs resume, on-the-fly projections
match scikit-learn, projection identity is part of the cache key, layer concatenation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sklearn.decomposition
from PIL import Image

from brainalign.data.stimuli import StimulusSet
from brainalign.mapping.reduction import IncrementalPCA, SparseRandomProjection, concatenate_layers
from brainalign.models.extractor import Extractor
from brainalign.models.feature_cache import FeatureCache, feature_key
from brainalign.models.feature_store import FeatureStore, concatenate_stores, partial_path
from brainalign.models.loading import ImagePreprocessing, LoadedModel, load_model
from brainalign.models.projection import Projection

LAYERS = ["blocks.1", "global_pool"]


def _folder(tmp_path_factory, name: str, n: int, seed: int) -> StimulusSet:
    """``n`` seeded smooth colour images (random 6×6 patterns upsampled to 48×48)."""
    folder = tmp_path_factory.mktemp(name)
    rng = np.random.default_rng(seed)
    for i in range(n):
        pattern = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
        Image.fromarray(pattern).resize((48, 48), Image.BILINEAR).save(folder / f"img{i:02d}.png")
    return StimulusSet.from_folder(folder, identifier=name)


@pytest.fixture(scope="module")
def stimuli(tmp_path_factory) -> StimulusSet:
    return _folder(tmp_path_factory, "scoring", 10, seed=1)


@pytest.fixture(scope="module")
def fit_stimuli(tmp_path_factory) -> StimulusSet:
    return _folder(tmp_path_factory, "fitting", 8, seed=2)


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    """Real weights at a 64-pixel input, to keep the test fast."""
    return dataclasses.replace(load_model("efficientnet_lite0"), preprocessing=ImagePreprocessing(64, 64))


@pytest.fixture(scope="module")
def in_memory(model, stimuli) -> dict[str, np.ndarray]:
    features = Extractor(model, layers=LAYERS, batch_size=3, cache=False, progress=False).extract(stimuli)
    return {layer: features[layer].values for layer in LAYERS}


def test_streamed_store_equals_in_memory_features_exactly(model, stimuli, in_memory, tmp_path):
    extractor = Extractor(model, layers=LAYERS, batch_size=3, cache=FeatureCache(tmp_path), progress=False)
    stores = extractor.extract_stores(stimuli)
    for layer in LAYERS:
        with stores[layer] as store:
            assert store.values.chunks[0] == 3  # chunked along stimuli, one batch per chunk row
            assert store.stimulus_ids == stimuli.stimulus_ids
            np.testing.assert_array_equal(np.concatenate([rows for _, rows in store.iter_chunks()]), in_memory[layer])
    features = extractor.extract(stimuli)  # now a cache hit read back from the stores
    for layer in LAYERS:
        np.testing.assert_array_equal(features[layer].values, in_memory[layer])
        assert features[layer].attrs == {"layer": layer, "model": "efficientnet_lite0"}
    assert not list(tmp_path.glob("*.partial.h5"))


def test_interrupted_extraction_resumes_and_recomputes_only_missing_batches(model, stimuli, in_memory, tmp_path):
    cache, seen = FeatureCache(tmp_path), []

    def killed_at_third_batch(_module, inputs):
        seen.append(inputs[0].shape[0])
        if len(seen) == 3:
            raise RuntimeError("killed")

    handle = model.module.register_forward_pre_hook(killed_at_third_batch)
    try:
        with pytest.raises(RuntimeError, match="killed"):
            Extractor(model, layers=LAYERS, batch_size=3, cache=cache, progress=False).extract(stimuli)
    finally:
        handle.remove()
    key = feature_key(model, "blocks.1", stimuli)
    assert not cache.path(key).exists() and partial_path(cache.path(key)).is_file()

    seen.clear()
    handle = model.module.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0].shape[0]))
    try:
        resumed = Extractor(model, layers=LAYERS, batch_size=3, cache=cache, progress=False).extract(stimuli)
    finally:
        handle.remove()
    assert seen == [3, 1]  # rows 0..5 were on disk: only batches 6..8 and 9 ran again
    for layer in LAYERS:
        np.testing.assert_array_equal(resumed[layer].values, in_memory[layer])
    assert cache.path(key).is_file() and not partial_path(cache.path(key)).exists()


def test_pca_fitted_on_another_folder_matches_sklearn(model, stimuli, fit_stimuli, in_memory, tmp_path):
    fit_features = Extractor(model, layers=LAYERS, batch_size=3, cache=False, progress=False).extract(fit_stimuli)
    projection = Projection(lambda: IncrementalPCA(5), fit_stimuli)
    projected = Extractor(model, layers=LAYERS, batch_size=3, cache=FeatureCache(tmp_path), progress=False,
                          projection=projection).extract(stimuli)
    for layer in LAYERS:
        reference = sklearn.decomposition.PCA(5).fit(fit_features[layer].values.astype(np.float64))
        expected = reference.transform(in_memory[layer].astype(np.float64))
        assert projected[layer].shape == (len(stimuli), 5)
        np.testing.assert_allclose(projected[layer].values, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_chunked_incremental_pca_matches_sklearn_incremental_pca(model, stimuli, fit_stimuli, in_memory):
    extractor = Extractor(model, layers=["global_pool"], batch_size=4, cache=False, progress=False)
    fit_features = extractor.extract(fit_stimuli)
    projection = Projection(lambda: IncrementalPCA(3), fit_stimuli, fit_chunk=4)
    projected = Extractor(model, layers=["global_pool"], batch_size=4, cache=False, progress=False,
                          projection=projection).extract(stimuli)["global_pool"]
    reference = sklearn.decomposition.IncrementalPCA(3, batch_size=4).fit(
        fit_features["global_pool"].values.astype(np.float64))
    expected = reference.transform(in_memory["global_pool"].astype(np.float64))
    np.testing.assert_allclose(projected.values, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_cache_key_changes_with_the_projection(model, stimuli, fit_stimuli):
    def identity(projection):
        return None if projection is None else projection.identity(model, "blocks.1")

    variants = [
        None,
        Projection(lambda: IncrementalPCA(5), fit_stimuli),
        Projection(lambda: IncrementalPCA(4), fit_stimuli),
        Projection(lambda: IncrementalPCA(5), fit_stimuli, fit_chunk=6),
        Projection(lambda: IncrementalPCA(5), fit_stimuli.subset(fit_stimuli.stimulus_ids[:6])),
        Projection(lambda: SparseRandomProjection(5, seed=0), fit_stimuli),
        Projection(lambda: SparseRandomProjection(5, seed=1), fit_stimuli),
    ]
    keys = [feature_key(model, "blocks.1", stimuli, identity(p)) for p in variants]
    assert len(set(keys)) == len(variants)
    assert keys[1] == feature_key(model, "blocks.1", stimuli, identity(Projection(lambda: IncrementalPCA(5),
                                                                                   fit_stimuli)))
    assert identity(variants[1]) != variants[1].identity(model, "global_pool")


def test_fitted_projection_is_cached_and_not_refitted(model, stimuli, fit_stimuli, tmp_path):
    cache = FeatureCache(tmp_path)
    projection = Projection(lambda: IncrementalPCA(4), fit_stimuli)
    first = Extractor(model, layers=["global_pool"], cache=cache, progress=False, projection=projection)
    first.extract(stimuli)
    other_stimuli = stimuli.subset(stimuli.stimulus_ids[:4])
    seen = []
    handle = model.module.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0].shape[0]))
    try:
        Extractor(model, layers=["global_pool"], cache=cache, progress=False, projection=projection).extract(
            other_stimuli)
    finally:
        handle.remove()
    assert seen == [4]  # only the new stimuli ran; the fit stimuli did not


def test_concatenated_stores_equal_concatenated_features(model, stimuli, in_memory, tmp_path):
    stores = Extractor(model, layers=LAYERS, batch_size=3, cache=FeatureCache(tmp_path), progress=False
                       ).extract_stores(stimuli)
    joined = concatenate_stores([stores[layer] for layer in LAYERS], tmp_path / "joined.h5", chunk_rows=4)
    expected = concatenate_layers([stores[layer].to_features() for layer in LAYERS])
    with joined:
        features = joined.to_features()
    np.testing.assert_array_equal(features.values, np.concatenate([in_memory[layer] for layer in LAYERS], axis=1))
    assert features["layer"].values.tolist() == expected["layer"].values.tolist()
    assert isinstance(FeatureStore(tmp_path / "joined.h5").shape, tuple)
