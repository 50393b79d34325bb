"""Reliability ceilings against the known theory of simulated brains and against scipy on identical halves."""

import numpy as np
import pytest

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_responses
from brainalign.data.synthetic import simulated_brain
from brainalign.metrics.ceilings.reliability import ncsnr, nsd_noise_ceiling, split_half_reliability

SNRS = [0.1, 0.3, 1.0, 3.0]


@pytest.fixture(scope="module")
def brain():
    return simulated_brain(n_stimuli=3000, n_features=5, n_neuroids=len(SNRS), n_repetitions=4, snr=SNRS, seed=1)


def test_split_half_reliability_matches_theory(brain):
    np.testing.assert_allclose(split_half_reliability(brain.responses), brain.reliability, atol=0.03)


def test_nsd_noise_ceiling_matches_theory(brain):
    np.testing.assert_allclose(ncsnr(brain.responses), np.sqrt(SNRS), rtol=0.05)
    np.testing.assert_allclose(nsd_noise_ceiling(ncsnr(brain.responses), 4), brain.reliability, atol=0.03)


def test_missing_repetitions_use_the_available_ones(brain):
    values = brain.responses.values.copy()
    rng = np.random.default_rng(0)
    values[rng.random(values.shape[0]) < 0.5, :, 3] = np.nan  # half the stimuli have 3 repeats
    values[:10, :, 1:] = np.nan  # ten stimuli were shown once: left out
    padded = brain.responses.copy(data=values)
    # theory for a mix of 3 and 4 repeats lies between the two reliabilities
    low, high = (np.asarray(SNRS) * k / (np.asarray(SNRS) * k + 1) for k in (3, 4))
    for estimate in (split_half_reliability(padded), nsd_noise_ceiling(ncsnr(padded), 3.5)):
        assert np.all(estimate > low - 0.03) and np.all(estimate < high + 0.03)


def test_noiseless_repetitions_are_perfectly_reliable():
    signal = np.random.default_rng(2).normal(size=(50, 3, 1))
    responses = make_responses(np.repeat(signal, 4, axis=2), [f"s{i}" for i in range(50)],
                               dims=("stimulus", "neuroid", "repetition"))
    np.testing.assert_allclose(split_half_reliability(responses), 1.0, rtol=1e-12)


def test_dims_in_any_order_and_clear_errors(brain):
    shuffled = brain.responses.transpose("repetition", "stimulus", "neuroid")
    np.testing.assert_allclose(split_half_reliability(shuffled), split_half_reliability(brain.responses))
    with pytest.raises(InvalidInputError, match="repetition"):
        split_half_reliability(brain.signal)
    single = brain.responses.isel(repetition=[0])
    with pytest.raises(InvalidInputError, match="at least 2 repetitions"):
        split_half_reliability(single)
