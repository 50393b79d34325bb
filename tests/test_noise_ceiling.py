"""RDM noise ceilings against rsatoolbox's ``boot_noise_ceiling`` on identical RDMs (simulated and real)."""

import numpy as np
import pytest
from rsatoolbox.inference import boot_noise_ceiling
from scipy import stats

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.rdm import RDM
from brainalign.data.registry import get_dataset
from brainalign.metrics.ceilings.noise_ceiling import rdm_noise_ceiling, rdm_noise_ceiling_per_subject

RNG = np.random.default_rng(2)
N = 16
P = N * (N - 1) // 2
SIGNAL = RNG.random(P)
SUBJECTS = RDM(SIGNAL + RNG.normal(0, 0.3, (7, P)), [f"s{i}" for i in range(N)])


@pytest.mark.parametrize("method", ["spearman", "pearson", "cosine", "rho-a", "tau-a", "whitened-pearson"])
def test_matches_rsatoolbox(method):
    ours = rdm_noise_ceiling(SUBJECTS, method)
    reference = boot_noise_ceiling(SUBJECTS.to_rsatoolbox(), method=RSA_NAME.get(method, method))
    np.testing.assert_allclose(ours, reference, atol=1e-10)


RSA_NAME = {"pearson": "corr", "whitened-pearson": "corr_cov"}


def test_grouped_sessions_match_rsatoolbox():
    sessions = RDM(np.repeat(SUBJECTS.condensed, 2, axis=0) + RNG.normal(0, 0.1, (14, P)), SUBJECTS.stimulus_ids)
    sessions.descriptors["subject"] = np.repeat(np.arange(7), 2)
    ours = rdm_noise_ceiling(sessions, "spearman", by="subject")
    reference = boot_noise_ceiling(sessions.to_rsatoolbox(), method="spearman", rdm_descriptor="subject")
    np.testing.assert_allclose(ours, reference, atol=1e-10)


def test_torch_backend_in_float64():
    with config_context(backend="torch", dtype="float32"):  # bounds stay float64 whatever the context's dtype
        on_torch = rdm_noise_ceiling(SUBJECTS)
    np.testing.assert_allclose(on_torch, rdm_noise_ceiling(SUBJECTS), atol=1e-10)


def test_needs_two_subjects():
    with pytest.raises(InvalidInputError, match="at least 2 subjects"):
        rdm_noise_ceiling(SUBJECTS.select([True] + [False] * 6))


def test_net2brain_it_real_data(shared_data):
    path = shared_data / "net2brain78" / "fmri_IT_RDMs.npz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    rdms = get_dataset("Net2Brain78").rdms("IT")  # the loader's RDMs, never a fallback that skips it
    square = np.load(path)["arr_0"]
    upper = np.triu_indices(square.shape[1], k=1)
    np.testing.assert_array_equal(rdms.condensed, square[:, upper[0], upper[1]])  # the file's values, unchanged
    assert rdms.n_rdms == 15 and rdms.stimulus_ids == get_dataset("Net2Brain78").stimulus_set().stimulus_ids
    ours = rdm_noise_ceiling(rdms, "spearman")
    reference = boot_noise_ceiling(rdms.to_rsatoolbox(), method="spearman")
    np.testing.assert_allclose(ours, reference, atol=1e-10)
    assert 0 < ours[0] < ours[1] < 1


@pytest.mark.parametrize("method, correlation", [("spearman", stats.spearmanr), ("pearson", stats.pearsonr)])
def test_plain_mean_pooling_matches_scipy_by_hand(method, correlation):
    """Net2Brain's pools: plain means of the RDMs (not of their ranks), each subject against them."""
    v = SUBJECTS.condensed
    lower, upper = rdm_noise_ceiling_per_subject(SUBJECTS, method, pooling="plain-mean")
    expected_lower = [correlation(v[i], np.delete(v, i, axis=0).mean(0))[0] for i in range(len(v))]
    expected_upper = [correlation(v[i], v.mean(0))[0] for i in range(len(v))]
    np.testing.assert_allclose(lower, expected_lower, rtol=1e-12)
    np.testing.assert_allclose(upper, expected_upper, rtol=1e-12)
    rank_pooled = rdm_noise_ceiling_per_subject(SUBJECTS, "spearman")[0]
    assert method == "pearson" or not np.allclose(lower, rank_pooled, rtol=1e-6)  # a different pool


def test_distance_ceilings_pool_by_plain_mean():
    from scipy.spatial.distance import cityblock

    v = SUBJECTS.condensed
    lower, upper = rdm_noise_ceiling_per_subject(SUBJECTS, "manhattan")
    np.testing.assert_allclose(lower, [cityblock(v[i], np.delete(v, i, axis=0).mean(0)) for i in range(len(v))])
    np.testing.assert_allclose(upper, [cityblock(v[i], v.mean(0)) for i in range(len(v))])


def test_unknown_pooling():
    with pytest.raises(UnknownNameError, match="plain-mean"):
        rdm_noise_ceiling(SUBJECTS, pooling="ranks")
