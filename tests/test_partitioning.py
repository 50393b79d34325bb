"""Variance partitioning recovers known unique and shared variance on simulated data."""

import numpy as np
import pytest

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features, make_responses
from brainalign.mapping.ridge import RidgeCV
from brainalign.metrics.encoding.partitioning import structured_variance_partitioning, variance_partitioning

N = 2000
IDS = [f"s{i}" for i in range(N)]


def _latents(k, seed):
    return np.random.default_rng(seed).normal(size=(N, k))


def test_two_spaces_unique_and_shared_variance_recovered():
    z = _latents(4, 0)  # shared, unique to A, unique to B, noise
    a = np.column_stack([z[:, 0], z[:, 1]]) @ np.array([[1.0, 0.5], [0.3, 1.0]])
    b = np.column_stack([z[:, 0], z[:, 2]])
    y = np.sqrt(0.3) * z[:, 0] + np.sqrt(0.2) * z[:, 1] + np.sqrt(0.1) * z[:, 2] + np.sqrt(0.4) * z[:, 3]
    parts = variance_partitioning({"A": make_features(a, IDS), "B": make_features(b, IDS)},
                                  make_responses(y[:, None], IDS))
    assert parts.unique("A")[0] == pytest.approx(0.2, abs=0.03)
    assert parts.unique("B")[0] == pytest.approx(0.1, abs=0.03)
    assert parts.regions[("A", "B")][0] == pytest.approx(0.3, abs=0.03)
    assert parts.r2[("A", "B")][0] == pytest.approx(0.6, abs=0.03)


@pytest.mark.slow
def test_three_spaces_all_regions_recovered():
    z = _latents(8, 1)  # one latent per Venn region (7) + noise
    membership = {"A": [0, 3, 5, 6], "B": [1, 3, 4, 6], "C": [2, 4, 5, 6]}  # z3=AB, z4=BC, z5=AC, z6=ABC
    variances = np.array([0.1, 0.05, 0.08, 0.12, 0.06, 0.04, 0.15])
    y = z[:, :7] @ np.sqrt(variances) + np.sqrt(1 - variances.sum()) * z[:, 7]
    spaces = {name: make_features(z[:, cols], IDS) for name, cols in membership.items()}
    parts = variance_partitioning(spaces, make_responses(y[:, None], IDS))
    expected = {("A",): 0.1, ("B",): 0.05, ("C",): 0.08, ("A", "B"): 0.12, ("B", "C"): 0.06,
                ("A", "C"): 0.04, ("A", "B", "C"): 0.15}
    for region, value in expected.items():
        assert parts.regions[region][0] == pytest.approx(value, abs=0.03), region


def test_structured_partitioning_finds_the_driving_layer():
    z = _latents(4, 2)
    layers = [z[:, :1] + 0.1 * z[:, 3:4], z[:, 1:2], z[:, 2:3]]
    y = np.column_stack([layers[1][:, 0], layers[0][:, 0] + layers[2][:, 0]]) + 0.3 * _latents(2, 3)
    X = np.hstack(layers)
    result = structured_variance_partitioning(X[:1500], y[:1500], X[1500:], y[1500:], [1, 1, 1],
                                              estimator=RidgeCV([1.0]))
    assert (result.lower[0], result.upper[0]) == (1, 1)
    assert (result.lower[1], result.upper[1]) == (0, 2)


def test_bad_inputs_raise():
    with pytest.raises(InvalidInputError, match="2 to 4"):
        variance_partitioning({"A": make_features(_latents(1, 0), IDS)}, make_responses(_latents(1, 1), IDS))
