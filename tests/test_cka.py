"""CKA against plainly written HSIC formulas, its invariances, and the debiased estimator on independent data."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import make_features, make_responses
from brainalign.metrics.registry import METRICS
from brainalign.metrics.similarity.cka import cka, cka_metric, gram, hsic


def plain_biased_hsic(k: np.ndarray, l_gram: np.ndarray) -> float:
    n = len(k)
    h = np.eye(n) - np.ones((n, n)) / n
    return np.trace(k @ h @ l_gram @ h) / (n - 1) ** 2


def plain_unbiased_hsic(k: np.ndarray, l_gram: np.ndarray) -> float:
    """The U-statistic of E[k l] + E[k] E[l] - 2 E[k(x,x') l(x,x'')] over all distinct index quadruples."""
    n = len(k)
    terms = [k[i, j] * l_gram[i, j] + k[i, j] * l_gram[q, r] - 2 * k[i, j] * l_gram[i, q]
             for i, j, q, r in itertools.permutations(range(n), 4)]
    return float(np.mean(terms))


def plain_cka(k: np.ndarray, l_gram: np.ndarray, hsic_fn) -> float:
    return hsic_fn(k, l_gram) / np.sqrt(hsic_fn(k, k) * hsic_fn(l_gram, l_gram))


def plain_rbf(x: np.ndarray, factor: float) -> np.ndarray:
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    sigma = factor * np.median(d[np.triu_indices(len(x), 1)])
    return np.exp(-d**2 / (2 * sigma**2))


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 6))
    y = x @ rng.normal(size=(6, 4)) + rng.normal(size=(9, 4))
    return x, y


def test_biased_hsic_equals_trace_formula(xy):
    x, y = xy
    k, l_gram = x @ x.T, np.tanh(y) @ np.tanh(y).T
    np.testing.assert_allclose(float(hsic(k, l_gram)), plain_biased_hsic(k, l_gram), rtol=1e-12)


def test_unbiased_hsic_equals_u_statistic(xy):
    x, y = xy
    k, l_gram = plain_rbf(x, 1.0), y @ y.T
    np.testing.assert_allclose(float(hsic(k, l_gram, unbiased=True)), plain_unbiased_hsic(k, l_gram), rtol=1e-10)


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("kernel,factor", [("linear", 1.0), ("rbf", 0.5), ("rbf", 2.0)])
def test_cka_equals_plain_formula(xy, kernel, factor, unbiased):
    x, y = xy
    xc, yc = x - x.mean(0), y - y.mean(0)
    k, l_gram = (xc @ xc.T, yc @ yc.T) if kernel == "linear" else (plain_rbf(x, factor), plain_rbf(y, factor))
    expected = plain_cka(k, l_gram, plain_unbiased_hsic if unbiased else plain_biased_hsic)
    ours = cka(x, y, kernel=kernel, unbiased=unbiased, bandwidth_factor=factor)
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_linear_cka_equals_feature_space_formula():
    """Kornblith et al. (2019): linear CKA = ||Yᵀ X||²_F / (||Xᵀ X||_F ||Yᵀ Y||_F) for centred X, Y."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 30)), rng.normal(size=(40, 7))
    xc, yc = x - x.mean(0), y - y.mean(0)
    expected = np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    np.testing.assert_allclose(cka(x, y), expected, rtol=1e-10)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("unbiased", [False, True])
def test_invariant_to_orthogonal_transform_isotropic_scaling_and_shift(kernel, unbiased):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 12))
    q = np.linalg.qr(rng.normal(size=(12, 12)))[0]
    assert cka(x, x @ q * 3.7 + 5.0, kernel=kernel, unbiased=unbiased) == pytest.approx(1.0, abs=1e-10)
    y = np.tanh(x[:, :5]) + 0.5 * rng.normal(size=(60, 5))
    reference = cka(x, y, kernel=kernel, unbiased=unbiased)
    assert cka(x @ q * 0.2, y, kernel=kernel, unbiased=unbiased) == pytest.approx(reference, rel=1e-9)


def test_linear_cka_is_not_invariant_to_anisotropic_scaling():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 5))
    assert cka(x, x * np.array([1, 1, 1, 1, 20.0])) < 0.9


def test_unbiased_cka_near_zero_for_independent_data():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(100, 2000)), rng.normal(size=(100, 2000))
    assert cka(x, y) > 0.9  # the biased estimator is badly inflated when units ≫ stimuli
    assert abs(cka(x, y, unbiased=True)) < 0.02
    assert abs(cka(x, y, kernel="rbf", unbiased=True)) < 0.02


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_torch_matches_numpy(kernel):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(50, 20)), rng.normal(size=(50, 8))
    y[:, 0] += x[:, 0]
    expected = cka(x, y, kernel=kernel, unbiased=True)
    assert cka(torch.tensor(x), torch.tensor(y), kernel=kernel, unbiased=True) == pytest.approx(expected, rel=1e-10)
    assert cka(x.astype("float32"), y.astype("float32"), kernel=kernel, unbiased=True) == pytest.approx(
        expected, abs=1e-4)


def test_metric_aligns_averages_repetitions_and_is_registered():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(20, 10))
    ids = [f"s{i}" for i in range(20)]
    signal = x[:, :4]
    reps = signal[:, :, None] + 0.1 * rng.normal(size=(20, 4, 3))
    order = rng.permutation(20)
    responses = make_responses(reps[order], [ids[i] for i in order], dims=("stimulus", "neuroid", "repetition"))
    with config_context(dtype="float64"):
        score = METRICS["cka"](make_features(x, ids), responses, unbiased=True)
    assert score.value == pytest.approx(cka(x, reps.mean(-1), unbiased=True), rel=1e-12)
    assert cka_metric is METRICS["cka"]


def test_errors_name_the_bad_value():
    x = np.ones((3, 2))
    with pytest.raises(UnknownNameError, match="rbf"):
        gram(x, kernel="gaussian")
    with pytest.raises(InvalidInputError, match="same stimuli"):
        cka(np.eye(3), np.eye(4))


@pytest.mark.parametrize("x, y, reason", [
    (np.random.default_rng(5).normal(size=(3, 4)), np.random.default_rng(6).normal(size=(3, 2)), "at least 4 stimuli"),
    (np.tile(np.arange(4.0), (10, 1)), np.random.default_rng(6).normal(size=(10, 2)), "same for every stimulus"),
])
@pytest.mark.parametrize("unbiased", [False, True])
def test_undefined_cka_is_nan_with_one_warning(x, y, reason, unbiased):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = cka(x, y, unbiased=unbiased)
    assert np.isnan(value)
    assert len(caught) == 1 and reason in str(caught[0].message)


def test_standardize_equals_net2brain_formula_on_standard_scaled_columns():
    """Net2Brain's CKA: StandardScaler on each side, linear Grams, H K H, tr(K̃ L̃) / sqrt(tr(K̃²) tr(L̃²))."""
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 12)) * rng.uniform(0.1, 50, size=12) + 3.0  # units on very different scales
    y = x[:, :6] @ rng.normal(size=(6, 9)) + rng.normal(size=(40, 9))
    x[:, 4] = 2.0  # a constant unit: 0 after standardising (StandardScaler's convention)
    h = np.eye(40) - 1 / 40
    k, l_gram = (h @ (a @ a.T) @ h for a in (StandardScaler().fit_transform(x), StandardScaler().fit_transform(y)))
    expected = np.trace(k @ l_gram) / np.sqrt(np.trace(k @ k) * np.trace(l_gram @ l_gram))
    with config_context(dtype="float64"):
        score = cka_metric(make_features(x, [str(i) for i in range(40)]),
                           make_responses(y, [str(i) for i in range(40)]), standardize=True)
    assert score.value == pytest.approx(expected, rel=1e-10)
    assert score.extra["standardize"] is True
    assert abs(cka(x, y) - expected) > 0.01  # without standardising the scales matter
    assert cka(torch.as_tensor(x), torch.as_tensor(y), standardize=True) == pytest.approx(expected, rel=1e-10)
