"""Simulated brains: empirical reliabilities and signal correlations match the closed-form theory."""

import numpy as np
import pytest
from scipy import stats

from brainalign.core.errors import InvalidInputError
from brainalign.data.synthetic import simulated_brain, theoretical_reliability


def _split_half_spearman_brown(responses: np.ndarray) -> np.ndarray:
    """Per-neuroid split-half correlation (even vs odd repeats), Spearman–Brown corrected."""
    half_a, half_b = responses[:, :, 0::2].mean(-1), responses[:, :, 1::2].mean(-1)
    r = np.array([stats.pearsonr(half_a[:, j], half_b[:, j])[0] for j in range(responses.shape[1])])
    return 2 * r / (1 + r)


@pytest.mark.parametrize("snr", [0.25, 1.0, 4.0])
def test_empirical_reliability_matches_theory(snr):
    brain = simulated_brain(n_stimuli=4000, n_features=20, n_neuroids=40, n_repetitions=4, snr=snr, seed=1)
    empirical = _split_half_spearman_brown(brain.responses.values)
    expected = snr * 4 / (snr * 4 + 1)
    np.testing.assert_allclose(brain.reliability, expected)
    assert abs(empirical.mean() - expected) < 0.01
    assert np.abs(empirical - expected).max() < 0.06


def test_signal_correlation_with_average_is_sqrt_reliability():
    brain = simulated_brain(n_stimuli=4000, n_features=20, n_neuroids=40, n_repetitions=6, snr=[0.2, 1.5] * 20)
    averaged = brain.responses.values.mean(-1)
    r = np.array([stats.pearsonr(brain.signal.values[:, j], averaged[:, j])[0] for j in range(40)])
    np.testing.assert_allclose(brain.max_correlation, np.sqrt(theoretical_reliability(brain.snr, 6)))
    np.testing.assert_allclose(r, brain.max_correlation, atol=0.02)


def test_signal_variance_and_noise_variance_are_as_specified():
    brain = simulated_brain(n_stimuli=3000, n_neuroids=10, n_repetitions=8, snr=2.0)
    signal = brain.features.values @ brain.weights
    np.testing.assert_allclose(signal, brain.signal.values)
    np.testing.assert_allclose(signal.var(axis=0), 1.0, rtol=1e-10)
    noise = brain.responses.values - signal[:, :, None]
    np.testing.assert_allclose(noise.var(axis=(0, 2)), 0.5, rtol=0.05)


def test_labels_and_determinism():
    a, b = simulated_brain(n_stimuli=30, seed=3), simulated_brain(n_stimuli=30, seed=3)
    assert a.responses.dims == ("stimulus", "neuroid", "repetition")
    assert a.features.dims == ("stimulus", "unit")
    assert list(a.features.stimulus_id.values) == list(a.responses.stimulus_id.values)
    np.testing.assert_array_equal(a.responses.values, b.responses.values)
    assert not np.array_equal(a.responses.values, simulated_brain(n_stimuli=30, seed=4).responses.values)


@pytest.mark.parametrize("kwargs, message", [
    ({"snr": [1.0, 2.0]}, "one per neuroid"),
    ({"snr": -1.0}, "positive"),
    ({"n_repetitions": 0}, "n_repetitions"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        simulated_brain(n_neuroids=5, **kwargs)
