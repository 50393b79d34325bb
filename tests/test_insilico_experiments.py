"""Preferred stimuli and relational control: reference libraries and simulated ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_responses
from brainalign.insilico.experiments import (
    population_correlation,
    preferred_stimuli,
    ranking_agreement,
    relational_control,
)


def _responses(values, prefix="s"):
    ids = [f"{prefix}{i:03d}" for i in range(values.shape[0])]
    return make_responses(values, ids, neuroid_coords={"neuroid_id": [f"n{j}" for j in range(values.shape[1])]})


def test_ranking_agreement_matches_scipy_spearman_with_ties():
    rng = np.random.default_rng(0)
    predicted = rng.normal(size=(50, 4))
    measured = np.round(predicted + rng.normal(size=(50, 4)), 0)  # many ties
    ours = ranking_agreement(_responses(predicted), _responses(measured)[::-1])  # order differs; aligned by id
    reference = [spearmanr(predicted[:, j], measured[:, j]).statistic for j in range(4)]
    np.testing.assert_allclose(ours, reference, rtol=1e-6)


def test_preferred_stimuli_are_the_argmax_per_neuroid():
    values = np.random.default_rng(1).normal(size=(30, 3))
    top = preferred_stimuli(_responses(values), 5)
    for j in range(3):
        assert top[f"n{j}"] == [f"s{i:03d}" for i in np.argsort(values[:, j])[::-1][:5]]
    with pytest.raises(InvalidInputError, match="n_top"):
        preferred_stimuli(_responses(values), 31)


def test_relational_control_on_a_simulated_brain_aligns_and_disentangles_the_measured_populations():
    rng = np.random.default_rng(2)
    # two populations driven by two independent latent factors, measured with noise
    latent = rng.normal(size=(400, 2))
    truth = np.concatenate([latent[:, :1] + 0.1 * rng.normal(size=(400, 5)),
                            latent[:, 1:] + 0.1 * rng.normal(size=(400, 5))], axis=1)
    measured = _responses(truth + 0.3 * rng.normal(size=truth.shape))
    predicted = _responses(truth)
    a, b = list(range(5)), list(range(5, 10))
    chosen = relational_control(predicted, a, b, 40)
    assert population_correlation(measured, chosen["aligned"], a, b) > 0.6
    assert population_correlation(measured, chosen["disentangled"], a, b) < -0.6
    # over all stimuli the two populations are unrelated
    assert abs(population_correlation(measured, measured["stimulus_id"].values.tolist(), a, b)) < 0.15
    with pytest.raises(InvalidInputError, match="even"):
        relational_control(predicted, a, b, 41)
