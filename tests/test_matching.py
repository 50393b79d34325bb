"""Matching metrics: known permutations, Sinkhorn vs POT and the exact optimum, held-out correlation ground truth."""

from __future__ import annotations

import math
import warnings

import numpy as np
import ot
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features, make_responses
from brainalign.metrics.registry import METRICS
from brainalign.metrics.similarity.matching import (
    correlation_matrix,
    one_to_one_assignment,
    semi_assignment,
    sinkhorn,
    soft_assignment,
)


def noisy_copies(n_stimuli=300, n_units=30, n_neuroids=20, noise=0.5, seed=0):
    """Units are independent signals; neuroid j is a noisy copy of unit ``permutation[j]``."""
    rng = np.random.default_rng(seed)
    units = rng.normal(size=(n_stimuli, n_units))
    permutation = rng.permutation(n_units)[:n_neuroids]
    neuroids = units[:, permutation] + noise * rng.normal(size=(n_stimuli, n_neuroids))
    return units, neuroids, permutation


def test_correlation_matrix_equals_numpy_corrcoef():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 7)), rng.normal(size=(50, 4))
    expected = np.corrcoef(x.T, y.T)[:7, 7:]
    np.testing.assert_allclose(correlation_matrix(x, y), expected, atol=1e-12)
    np.testing.assert_allclose(correlation_matrix(torch.tensor(x), torch.tensor(y)).numpy(), expected, atol=1e-12)


def test_hungarian_recovers_known_permutation_of_noisy_copies():
    units, neuroids, permutation = noisy_copies(noise=1.0)
    assignment = one_to_one_assignment(correlation_matrix(units, neuroids))
    assert assignment.argmax(axis=0).tolist() == permutation.tolist()
    assert assignment.sum(axis=0).tolist() == [1.0] * 20 and assignment.sum(axis=1).max() == 1.0


def test_hungarian_beats_greedy_when_units_compete():
    similarity = np.array([[0.9, 0.85], [0.0, 0.8]])  # unit × neuroid: both neuroids prefer unit 0
    assert semi_assignment(similarity).argmax(0).tolist() == [0, 0]
    assert one_to_one_assignment(similarity).argmax(0).tolist() == [0, 1]


def test_semi_assignment_is_argmax_per_neuroid():
    similarity = np.random.default_rng(2).normal(size=(6, 9))
    np.testing.assert_array_equal(semi_assignment(similarity).argmax(0), similarity.argmax(0))


@pytest.mark.parametrize("shape", [(6, 6), (8, 5)])
def test_sinkhorn_equals_pot(shape):
    cost = np.random.default_rng(3).uniform(size=shape)
    a, b = np.full(shape[0], 1 / shape[0]), np.full(shape[1], 1 / shape[1])
    expected = ot.sinkhorn(a, b, cost, reg=0.05, method="sinkhorn_log", stopThr=1e-12, numItermax=100000)
    ours = sinkhorn(cost, epsilon=0.05, tol=1e-10, max_iter=100000)
    np.testing.assert_allclose(ours, expected, atol=1e-9)
    np.testing.assert_allclose(ours.sum(1), a, atol=1e-10)
    np.testing.assert_allclose(ours.sum(0), b, atol=1e-12)


def test_sinkhorn_batched_and_torch_match_single_numpy():
    costs = np.random.default_rng(4).uniform(size=(3, 5, 4))
    batched = sinkhorn(costs, epsilon=0.1, tol=1e-10)
    for i in range(3):
        np.testing.assert_allclose(batched[i], sinkhorn(costs[i], epsilon=0.1, tol=1e-10), atol=1e-9)
    np.testing.assert_allclose(sinkhorn(torch.tensor(costs), epsilon=0.1, tol=1e-10).numpy(), batched, atol=1e-9)


def test_soft_matching_tends_to_the_optimal_permutation_as_epsilon_vanishes():
    units, neuroids, _ = noisy_copies(n_stimuli=50, n_units=15, n_neuroids=15, noise=3.0, seed=5)
    similarity = correlation_matrix(units, neuroids)
    rows, cols = linear_sum_assignment(1 - similarity)
    optimum = (1 - similarity)[rows, cols].mean()  # the exact (unregularised) transport cost
    gaps = []
    for epsilon in (0.1, 0.01, 0.001):
        plan = sinkhorn(1 - similarity, epsilon, max_iter=20000, tol=1e-5)
        np.testing.assert_allclose(plan.sum(0), 1 / 15, atol=1e-9)
        np.testing.assert_allclose(plan.sum(1), 1 / 15, atol=1e-5)
        gaps.append(float(np.sum(plan * (1 - similarity)) - optimum))
    assert gaps[0] > gaps[1] > gaps[2] > -1e-5 and gaps[2] < 1e-3  # rows are exact to tol=1e-5 only
    units, neuroids, _ = noisy_copies(n_units=15, n_neuroids=15, noise=1.0, seed=5)
    similarity = correlation_matrix(units, neuroids)
    np.testing.assert_allclose(soft_assignment(similarity, 0.001), one_to_one_assignment(similarity), atol=1e-3)


def test_sinkhorn_warns_when_not_converged():
    with pytest.warns(RuntimeWarning, match="did not converge"):
        sinkhorn(np.random.default_rng(6).uniform(size=(50, 50)), epsilon=1e-4, max_iter=1)


@pytest.mark.parametrize("name,fraction", [("one-to-one", 1.0), ("semi-matching", 1.0), ("soft-matching", 8 / 12)])
def test_cross_validated_score_equals_theoretical_correlation(name, fraction):
    """Neuroid = unit + noise of variance 1 → the matched held-out correlation is 1/√2 ≈ 0.707.

    Soft matching keeps uniform marginals: each of the 12 units sends mass 1/12, each of the 8 neuroids
    receives 1/8, so at most 8/12 of a neuroid's weight can sit on its true unit (the rest on unrelated units).
    """
    units, neuroids, _ = noisy_copies(n_stimuli=3000, n_units=12, n_neuroids=8, noise=1.0, seed=7)
    ids = [f"s{i}" for i in range(3000)]
    order = np.random.default_rng(8).permutation(3000)
    source = make_features(units, ids)
    target = make_responses(neuroids[order], [ids[i] for i in order])
    options = {"epsilon": 0.005} if name == "soft-matching" else {}
    with config_context(dtype="float64"):
        score = METRICS[name](source, target, **options)
    assert score.value == pytest.approx(fraction / np.sqrt(2), abs=0.02)
    assert score.per_neuroid.shape == (8,) and score.per_split.shape == (5,)
    assert 0 < score.error < 0.02


def test_soft_matching_metric_on_torch_matches_numpy():
    units, neuroids, _ = noisy_copies(n_stimuli=100, n_units=6, n_neuroids=4, seed=9)
    ids = [str(i) for i in range(100)]
    source, target = make_features(units, ids), make_responses(neuroids, ids)
    with config_context(backend="torch", dtype="float64"):
        ours = METRICS["soft-matching"](source, target).value
    with config_context(dtype="float64"):
        assert ours == pytest.approx(METRICS["soft-matching"](source, target).value, rel=1e-9)


def test_errors_name_the_bad_value():
    with pytest.raises(InvalidInputError, match="2 units for 3 neuroids"):
        one_to_one_assignment(np.zeros((2, 3)))
    with pytest.raises(InvalidInputError, match="epsilon"):
        sinkhorn(np.zeros((2, 2)), epsilon=0.0)
    ids = [str(i) for i in range(6)]
    with pytest.raises(InvalidInputError, match="n_splits"):
        METRICS["semi-matching"](make_features(np.eye(6), ids), make_responses(np.eye(6), ids), n_splits=10)


@pytest.mark.parametrize("name", ["one-to-one", "semi-matching", "soft-matching"])
@pytest.mark.parametrize("case,reason", [("few", "only 3 stimuli"), ("constant-features", "source is constant"),
                                         ("constant-responses", "target is constant")])
def test_degenerate_inputs_give_nan_with_one_warning(name, case, reason):
    rng = np.random.default_rng(5)
    n = 3 if case == "few" else 30
    ids = [f"s{i}" for i in range(n)]
    units, neuroids = rng.normal(size=(n, 6)), rng.normal(size=(n, 4))
    if case == "constant-features":
        units[:] = 2.0
    if case == "constant-responses":
        neuroids[:] = 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = METRICS[name](make_features(units, ids), make_responses(neuroids, ids))
    assert math.isnan(score.value)
    assert len(caught) == 1 and reason in str(caught[0].message) and name in str(caught[0].message)


def test_per_neuroid_scores_keep_the_neuroid_labels():
    units, neuroids, _ = noisy_copies(n_stimuli=60, n_units=5, n_neuroids=3, seed=2)
    ids = [str(i) for i in range(60)]
    target = make_responses(neuroids, ids, neuroid_coords={"neuroid_id": ["a", "b", "c"], "region": ["V1"] * 3})
    score = METRICS["semi-matching"](make_features(units, ids), target, splits=[(np.arange(30), np.arange(30, 60))])
    assert score.per_neuroid.neuroid_id.values.tolist() == ["a", "b", "c"]
    assert score.per_split.shape == (1,)
    best = [np.argmax(np.corrcoef(units[:30].T, neuroids[:30, j])[-1, :-1]) for j in range(3)]  # numpy reference
    expected = [np.corrcoef(units[30:, best[j]], neuroids[30:, j])[0, 1] for j in range(3)]
    np.testing.assert_allclose(score.per_neuroid.values, expected, rtol=1e-5)
