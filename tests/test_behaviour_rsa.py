"""Kriegeskorte2008.behaviour-rsa: the 16 similarity-judgement RDMs (equal to the .mat file), raw = mean Spearman r
over subjects (scipy), ceiling = rsatoolbox's lower noise-ceiling bound; real data: trained EfficientNet-Lite0 versus
its random twin."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.spatial.distance
import scipy.stats
from rsatoolbox.inference import boot_noise_ceiling

from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.labels import make_features

BENCHMARK = "Kriegeskorte2008.behaviour-rsa"


@pytest.fixture(scope="module")
def judgements(shared_data):
    structs = scipy.io.loadmat(shared_data / "kriegeskorte2008" / "92_behavRDMs.mat", squeeze_me=True,
                               struct_as_record=False)["rdms_behav_92"]
    return np.stack([scipy.spatial.distance.squareform(s.RDM, checks=False) for s in structs])


def test_scores_equal_direct_spearman_and_rsatoolbox_ceiling(judgements):
    benchmark = get_benchmark(BENCHMARK)
    target = benchmark.target_data()
    np.testing.assert_allclose(target.condensed, judgements)
    assert target.descriptors["subject"].tolist() == [f"subject{i}" for i in range(1, 17)]
    x = np.random.default_rng(0).normal(size=(92, 20))
    score = benchmark(make_features(x, target.stimulus_ids, layer="random"))
    model = scipy.spatial.distance.pdist(x, "correlation")
    expected = np.mean([scipy.stats.spearmanr(model, subject).statistic for subject in judgements])
    lower, upper = boot_noise_ceiling(target.to_rsatoolbox(), method="spearman")
    assert score.raw == pytest.approx(expected, abs=1e-6)
    assert score.ceiling == pytest.approx(lower, abs=1e-10)
    assert score.extra["ceiling_upper"] == pytest.approx(upper, abs=1e-10)
    assert 0.3 < lower < upper < 1  # the 16 subjects agree


@pytest.mark.slow
def test_trained_network_beats_its_random_twin():
    from brainalign.runner.score import score

    layers = ["blocks.5", "blocks.6", "global_pool"]
    trained = score("efficientnet_lite0", BENCHMARK, layers).table().set_index("layer")
    random = score("efficientnet_lite0_random", BENCHMARK, layers).table().set_index("layer")
    # measured: trained blocks.6 ρ = 0.278 (0.58 of the lower ceiling 0.477), random twin at most 0.093
    assert trained["raw"].max() > 0.22 and random["raw"].max() < 0.15
    assert trained["ceiling"].nunique() == 1 and 0.3 < trained["ceiling"].iloc[0] < 1
