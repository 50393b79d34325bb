"""GPU code paths equal the CPU/numpy results (skipped where torch sees no CUDA device, as in CI)."""

import numpy as np
import pytest
import torch

from brainalign.core.backend import to_numpy
from brainalign.core.config import config_context
from brainalign.core.labels import make_features, make_responses

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CUDA = "cuda"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 300))
    y = x[:, :20] @ rng.normal(size=(20, 40)) + rng.normal(size=(120, 40))
    return x, y


def test_ridge_on_gpu_equals_numpy(data):
    from brainalign.mapping.ridge import RidgeCV

    x, y = data
    with config_context(dtype="float64"):
        cpu = RidgeCV().fit(x, y)
    with config_context(dtype="float64", device=CUDA):
        gpu = RidgeCV().fit(x, y)
    np.testing.assert_array_equal(to_numpy(gpu.best_alphas_), to_numpy(cpu.best_alphas_))
    np.testing.assert_allclose(to_numpy(gpu.predict(x)), to_numpy(cpu.predict(x)), rtol=1e-6, atol=1e-8)


def test_pls_on_gpu_equals_numpy(data):
    from brainalign.mapping.pls import PLSRegression

    x, y = data
    with config_context(dtype="float64"):
        cpu = PLSRegression(10).fit(x, y)
    with config_context(dtype="float64", device=CUDA):
        gpu = PLSRegression(10).fit(x, y)
    np.testing.assert_allclose(to_numpy(gpu.predict(x)), to_numpy(cpu.predict(x)), rtol=1e-6, atol=1e-8)


def test_rdms_and_comparisons_on_gpu_equal_numpy(data):
    from brainalign.core.config import config_context
    from brainalign.metrics.similarity.rdm_comparison import compare_rdms
    from brainalign.metrics.similarity.rdms import compute_rdm

    x, y = data
    ids = [f"s{i}" for i in range(len(x))]
    gpu_context = dict(dtype="float64", backend="torch", device=CUDA)
    with config_context(dtype="float64"):
        for distance in ("correlation", "euclidean", "cosine"):
            cpu = compute_rdm(x, ids, distance=distance)
            with config_context(**gpu_context):
                gpu = compute_rdm(x, ids, distance=distance)
            np.testing.assert_allclose(gpu.condensed, cpu.condensed, rtol=1e-9, atol=1e-10)
        a, b = compute_rdm(x, ids), compute_rdm(y, ids)
        for method in ("spearman", "pearson", "tau-a"):
            cpu = compare_rdms(a, b, method)
            with config_context(**gpu_context):
                gpu = compare_rdms(a, b, method)
            np.testing.assert_allclose(to_numpy(gpu), to_numpy(cpu), rtol=1e-9, atol=1e-10)


def test_ridge_metric_on_gpu_equals_numpy(data):
    from brainalign.metrics.encoding.engine import ridge_encoding

    x, y = data
    ids = [f"s{i}" for i in range(len(x))]
    features, responses = make_features(x, ids), make_responses(y, ids)
    from brainalign.core.config import config_context

    with config_context(dtype="float64"):
        cpu = ridge_encoding(features, responses)
    with config_context(backend="torch", device=CUDA, dtype="float64"):
        gpu = ridge_encoding(features, responses)
    assert gpu.raw == pytest.approx(cpu.raw, abs=1e-8)


@pytest.mark.slow
def test_extraction_on_gpu_equals_cpu(shared_data):
    from brainalign.data.registry import get_dataset
    from brainalign.models.extractor import Extractor

    stimuli = get_dataset("Kriegeskorte2008").stimulus_set().subset(
        get_dataset("Kriegeskorte2008").stimulus_set().stimulus_ids[:16])
    cpu = Extractor("efficientnet_lite0", ["blocks.6"], cache=False, progress=False).extract(stimuli)
    gpu = Extractor("efficientnet_lite0", ["blocks.6"], device=CUDA, cache=False, progress=False).extract(stimuli)
    np.testing.assert_allclose(gpu["blocks.6"].values, cpu["blocks.6"].values, rtol=1e-3, atol=1e-3)
