"""Jensen–Shannon and Wasserstein distances against scipy on identical inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from brainalign.core.errors import InvalidInputError
from brainalign.metrics.similarity.distribution import (
    histogram_jensen_shannon,
    jensen_shannon_divergence,
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
