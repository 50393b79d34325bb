"""Jensen–Shannon and Wasserstein distances against scipy on identical inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.metrics.similarity.distribution import (
    column_histograms,
    histogram_jensen_shannon,
    jensen_shannon_divergence,
    net2brain_distribution_distance,
    shared_histograms,
    wasserstein_1d,
)


@pytest.mark.parametrize("base", [2.0, np.e])
def test_jensen_shannon_of_distributions_equals_scipy(base):
    rng = np.random.default_rng(0)
    p, q = rng.uniform(size=(5, 12)), rng.uniform(size=(5, 12))
    p[0, :4] = 0.0  # zeros in one distribution only
    ours = jensen_shannon_divergence(p, q, base=base)
    expected = [jensenshannon(p[i], q[i], base=base) ** 2 for i in range(5)]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    np.testing.assert_allclose(jensen_shannon_divergence(p.T, q.T, axis=0, base=base), expected, rtol=1e-10)
    torch_result = jensen_shannon_divergence(torch.tensor(p), torch.tensor(q), base=base).numpy()
    np.testing.assert_allclose(torch_result, expected, rtol=1e-10)


def test_jensen_shannon_bounds():
    p = np.array([1.0, 0.0, 0.0])
    assert float(jensen_shannon_divergence(p, p)) == 0.0
    assert float(jensen_shannon_divergence(p, p[::-1].copy())) == pytest.approx(1.0)


def test_shared_histograms_equal_numpy_histogram_on_pooled_range():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 4)), rng.normal(1.0, 2.0, size=(250, 4))
    hx, hy = shared_histograms(x, y, bins=17)
    for j in range(4):
        edges = np.linspace(min(x[:, j].min(), y[:, j].min()), max(x[:, j].max(), y[:, j].max()), 18)
        np.testing.assert_array_equal(hx[j], np.histogram(x[:, j], edges)[0])
        np.testing.assert_array_equal(hy[j], np.histogram(y[:, j], edges)[0])


def test_histogram_jensen_shannon_equals_scipy_on_the_same_histograms():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 400)), rng.gamma(2.0, size=(6, 300))
    ours = histogram_jensen_shannon(x, y, bins=25, axis=1)
    expected = []
    for j in range(6):
        edges = np.linspace(min(x[j].min(), y[j].min()), max(x[j].max(), y[j].max()), 26)
        expected.append(jensenshannon(np.histogram(x[j], edges)[0], np.histogram(y[j], edges)[0], base=2) ** 2)
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_histogram_jensen_shannon_of_constant_columns():
    assert histogram_jensen_shannon(np.ones((5, 1)), np.ones((3, 1))).tolist() == [0.0]


@pytest.mark.parametrize("n,m", [(50, 50), (40, 73)])
def test_wasserstein_equals_scipy_per_unit(n, m):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(n, 8)), rng.exponential(size=(m, 8))
    x[:5, 0] = y[:5, 0] = 0.5  # ties across samples
    expected = [wasserstein_distance(x[:, j], y[:, j]) for j in range(8)]
    np.testing.assert_allclose(wasserstein_1d(x, y), expected, rtol=1e-10)
    np.testing.assert_allclose(wasserstein_1d(torch.tensor(x), torch.tensor(y)).numpy(), expected, rtol=1e-10)


def test_wasserstein_between_population_responses_per_stimulus():
    """axis=1 compares, for each stimulus, the distribution over 30 units with the one over 20 neuroids."""
    rng = np.random.default_rng(4)
    units, neuroids = rng.normal(size=(10, 30)), rng.normal(2.0, 1.0, size=(10, 20))
    expected = [wasserstein_distance(units[i], neuroids[i]) for i in range(10)]
    np.testing.assert_allclose(wasserstein_1d(units, neuroids, axis=1), expected, rtol=1e-10)


def test_wasserstein_of_a_shift_is_the_shift():
    x = np.random.default_rng(5).normal(size=(100, 3))
    np.testing.assert_allclose(wasserstein_1d(x, x + 0.7), 0.7, rtol=1e-12)


def test_errors_name_the_bad_value():
    with pytest.raises(InvalidInputError, match="non-negative"):
        jensen_shannon_divergence(np.array([-1.0, 2.0]), np.array([1.0, 1.0]))
    with pytest.raises(InvalidInputError, match="sums to 0"):
        jensen_shannon_divergence(np.zeros(2), np.ones(2))
    with pytest.raises(InvalidInputError, match="same shape"):
        jensen_shannon_divergence(np.ones(2), np.ones(3))
    with pytest.raises(InvalidInputError, match="equal other axes"):
        wasserstein_1d(np.ones((4, 2)), np.ones((4, 3)))
    with pytest.raises(InvalidInputError, match="bins"):
        shared_histograms(np.ones(3), np.ones(3), bins=0)


def _net2brain_by_hand(x, y, metric, bins=50):
    """Net2Brain's distributional comparison written out with sklearn, numpy.histogram and scipy."""
    from scipy.stats import entropy, wasserstein_distance
    from sklearn.decomposition import PCA as SklearnPCA
    from sklearn.preprocessing import StandardScaler

    k = min(x.shape[1], y.shape[1])
    x = StandardScaler().fit_transform(SklearnPCA(k, svd_solver="full").fit_transform(x))
    y = StandardScaler().fit_transform(SklearnPCA(k, svd_solver="full").fit_transform(y))
    distances = []
    for i in range(k):
        p, edges = np.histogram(x[:, i], bins=bins, density=True)
        q, _ = np.histogram(y[:, i], bins=bins, density=True)
        if metric == "jsd":
            p, q = np.clip(p, 1e-8, 1), np.clip(q, 1e-8, 1)
            distances.append(0.5 * (entropy(p, (p + q) / 2) + entropy(q, (p + q) / 2)))
        else:
            centres = (edges[:-1] + edges[1:]) / 2
            distances.append(wasserstein_distance(centres, centres, u_weights=p, v_weights=q))
    return np.mean(distances)


@pytest.mark.parametrize("metric", ["jsd", "wasserstein"])
def test_net2brain_distribution_distance_matches_reference_libraries(metric):
    rng = np.random.default_rng(4)
    x = rng.gamma(2.0, size=(120, 15)) @ rng.normal(size=(15, 15))  # skewed, correlated units
    y = rng.normal(size=(120, 6)) ** 3  # fewer neuroids: x is reduced to 6 components
    ours = net2brain_distribution_distance(x, y, metric, bins=20)
    assert ours == pytest.approx(_net2brain_by_hand(x, y, metric, bins=20), rel=1e-9)
    assert net2brain_distribution_distance(y, y, metric) == pytest.approx(0.0, abs=1e-12)


def test_column_histograms_match_numpy_histogram_bin_for_bin():
    rng = np.random.default_rng(6)
    x = np.round(rng.normal(size=(300, 8)), 1)  # many values on bin edges
    x[:, 3] = 2.0
    density, centres = column_histograms(x, bins=13)
    for i in range(x.shape[1]):
        expected, edges = np.histogram(x[:, i], bins=13, density=True)
        np.testing.assert_allclose(density[i], expected, rtol=1e-12)
        np.testing.assert_allclose(centres[i], (edges[:-1] + edges[1:]) / 2, rtol=1e-12)


def test_net2brain_distribution_rank_deficient_is_nan_with_one_warning():
    rng = np.random.default_rng(7)
    y = rng.normal(size=(50, 4))
    y[:, 2] = 1.5  # a constant neuroid: the 4th principal component is rounding noise
    with pytest.warns(RuntimeWarning) as caught:
        assert np.isnan(net2brain_distribution_distance(rng.normal(size=(50, 9)), y))
    assert len(caught) == 1 and "y has rank 3 < 4" in str(caught[0].message)


def test_net2brain_distribution_bad_inputs():
    with pytest.raises(UnknownNameError, match="wasserstein"):
        net2brain_distribution_distance(np.ones((5, 2)), np.ones((5, 2)), "kl")
    with pytest.raises(InvalidInputError, match="same stimuli"):
        net2brain_distribution_distance(np.ones((5, 2)), np.ones((4, 2)))
