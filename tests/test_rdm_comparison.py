"""RDM comparisons against scipy and rsatoolbox ``compare`` on identical float64 inputs."""

import warnings

import numpy as np
import pytest
import torch
from rsatoolbox.rdm import compare
from scipy import stats

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.rdm_comparison import compare_rdms, compare_vectors, rank_rows

RNG = np.random.default_rng(1)
N = 14
IDS = [f"s{i}" for i in range(N)]
P = N * (N - 1) // 2
BRAIN = RDM(RNG.random((3, P)), IDS)
# models with ties (rounded) and without, as rsatoolbox's tau-a / rho-a are meant for tied model RDMs
MODELS = RDM(np.vstack([np.round(RNG.random((2, P)) * 4), RNG.random((3, P)) + BRAIN.condensed[:1]]), IDS)
RSA_NAMES = {"tau-a": "tau-a", "rho-a": "rho-a", "cosine": "cosine", "whitened-pearson": "corr_cov",
             "whitened-cosine": "cosine_cov", "spearman": "spearman", "pearson": "corr", "tau-b": "kendall"}


@pytest.fixture(autouse=True)
def _float64():
    """References are float64; compute in float64 (the context's default is float32)."""
    with config_context(dtype="float64"):
        yield


@pytest.mark.parametrize("method", list(RSA_NAMES))
def test_matches_rsatoolbox_compare(method):
    ours = compare_rdms(MODELS, BRAIN, method)
    reference = compare(MODELS.to_rsatoolbox(), BRAIN.to_rsatoolbox(), RSA_NAMES[method])
    assert ours.shape == (5, 3)
    np.testing.assert_allclose(ours, reference, atol=1e-10)


@pytest.mark.parametrize("method, scipy_fn", [("spearman", stats.spearmanr), ("pearson", stats.pearsonr),
                                               ("tau-b", stats.kendalltau)])
def test_matches_scipy(method, scipy_fn):
    ours = compare_rdms(MODELS, BRAIN, method)
    expected = [[scipy_fn(m, b)[0] for b in BRAIN.condensed] for m in MODELS.condensed]
    np.testing.assert_allclose(ours, expected, atol=1e-10)


def test_tau_on_heavily_tied_vectors_matches_scipy():
    x = np.round(RNG.random((4, 301)) * 3)
    y = np.round(RNG.random((2, 301)) * 5)
    tau_b = compare_vectors(x, y, "tau-b")
    np.testing.assert_allclose(tau_b, [[stats.kendalltau(a, b)[0] for b in y] for a in x], atol=1e-12)


def test_rank_rows_matches_rankdata_and_torch():
    x = np.round(RNG.random((3, 50)) * 6)
    np.testing.assert_array_equal(rank_rows(x), stats.rankdata(x, axis=1))
    np.testing.assert_array_equal(rank_rows(torch.as_tensor(x)).numpy(), stats.rankdata(x, axis=1))


@pytest.mark.parametrize("method", list(RSA_NAMES))
def test_torch_backend_agrees(method):
    with config_context(backend="torch"):
        ours = compare_rdms(MODELS, BRAIN, method)
    np.testing.assert_allclose(ours, compare_rdms(MODELS, BRAIN, method), atol=1e-10)


def test_masked_spearman_equals_spearman_on_kept_entries():
    valid = RNG.random(P) > 0.3
    ours = compare_vectors(MODELS.condensed, BRAIN.condensed, "spearman", weights=valid)
    expected = [[stats.spearmanr(m[valid], b[valid])[0] for b in BRAIN.condensed] for m in MODELS.condensed]
    np.testing.assert_allclose(ours, expected, atol=1e-10)


@pytest.mark.parametrize("method, scipy_fn", [("spearman", stats.spearmanr), ("pearson", stats.pearsonr)])
def test_count_weights_equal_comparing_the_expanded_vectors(method, scipy_fn):
    counts = RNG.integers(0, 4, P)
    ours = compare_vectors(MODELS.condensed, BRAIN.condensed, method, weights=counts)
    expected = [[scipy_fn(np.repeat(m, counts), np.repeat(b, counts))[0] for b in BRAIN.condensed]
                for m in MODELS.condensed]
    np.testing.assert_allclose(ours, expected, atol=1e-10)


def test_reorders_equal_stimulus_sets():
    order = list(reversed(IDS))
    shuffled = BRAIN.reorder(order)
    np.testing.assert_allclose(compare_rdms(MODELS, shuffled),
                               compare_rdms(MODELS, BRAIN), atol=1e-12)


def test_bad_inputs():
    with pytest.raises(InvalidInputError, match="different stimuli"):
        compare_rdms(MODELS, RDM(np.ones((1, 10)), IDS[:5]))
    with pytest.raises(InvalidInputError, match="different stimuli"):
        compare_rdms(MODELS, RDM(BRAIN.condensed, IDS[:-1] + ["other"]))
    with pytest.raises(UnknownNameError, match="spearman"):
        compare_rdms(MODELS, BRAIN, "spearmann")
    with pytest.raises(InvalidInputError, match="symmetric"):
        RDM.from_square(RNG.random((4, 4)), list("abcd"))
    with pytest.raises(InvalidInputError, match="NaN"):
        RDM(np.array([[1.0, np.nan, 2.0]]), list("abc"))


@pytest.mark.parametrize("method, scipy_metric", [("euclidean", "euclidean"), ("manhattan", "cityblock")])
def test_distances_match_scipy_cdist(method, scipy_metric):
    from scipy.spatial.distance import cdist

    ours = compare_rdms(MODELS, BRAIN, method)
    np.testing.assert_allclose(ours, cdist(MODELS.condensed, BRAIN.condensed, scipy_metric), rtol=1e-12)
    many, others = RDM(RNG.random((30, P)), IDS), RDM(RNG.random((300, P)), IDS)
    with config_context(working_memory=1):  # 4 rows of 300 × 91 differences per block
        np.testing.assert_allclose(compare_rdms(many, others, method),
                                   cdist(many.condensed, others.condensed, scipy_metric), rtol=1e-12)
    same = compare_rdms(BRAIN, BRAIN, method)
    assert np.all(np.diag(same) == 0) and np.all(same[~np.eye(3, dtype=bool)] > 0)  # lower = more similar
    constant = RDM(np.ones((1, P)), IDS)  # defined for constant RDMs (no NaN, no warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(compare_rdms(constant, BRAIN, method),
                                   cdist(constant.condensed, BRAIN.condensed, scipy_metric), rtol=1e-12)
    with config_context(backend="torch"):
        np.testing.assert_allclose(compare_rdms(MODELS, BRAIN, method), ours, rtol=1e-10)
