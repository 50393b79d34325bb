"""Weighted RSA: known non-negative weights recovered from simulated RDMs; the fit against scipy's lsq_linear."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import lsq_linear
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.weighted_rsa import fit_rdm_weights, weighted_rsa

TRUE_WEIGHTS = np.array([1.0, 0.8, 0.0])


def simulated_rdms(n_stimuli=40, noise=0.05, seed=0):
    """Three model RDMs from independent random features; brain = 1·m0 + 0.8·m1 + 0·m2 + 0.3 + noise."""
    rng = np.random.default_rng(seed)
    models = np.stack([pdist(rng.normal(size=(n_stimuli, 10)), "correlation") for _ in range(3)])
    brain = TRUE_WEIGHTS @ models + 0.3 + noise * rng.normal(size=models.shape[1])
    ids = [f"s{i}" for i in range(n_stimuli)]
    return RDM(models, ids, "correlation"), RDM(brain, ids, "correlation")


def test_fit_recovers_known_weights_and_intercept():
    models, brain = simulated_rdms(noise=0.01)
    weights, intercept = fit_rdm_weights(models.condensed, brain.condensed[0])
    np.testing.assert_allclose(weights, TRUE_WEIGHTS, atol=0.01)
    assert intercept == pytest.approx(0.3, abs=0.02)


def test_fit_equals_bounded_least_squares():
    """Same problem solved by scipy.optimize.lsq_linear: slopes in [0, ∞), intercept free."""
    rng = np.random.default_rng(1)
    models = rng.uniform(size=(4, 300))
    brain = models.T @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(size=300) * 0.3
    design = np.column_stack([models.T, np.ones(300)])
    reference = lsq_linear(design, brain, bounds=([0, 0, 0, 0, -np.inf], np.inf), tol=1e-12).x
    weights, intercept = fit_rdm_weights(models, brain)
    np.testing.assert_allclose(np.append(weights, intercept), reference, atol=1e-7)
    assert weights[1] == 0.0


def test_cross_validated_weights_and_score_on_held_out_stimuli():
    models, brain = simulated_rdms(noise=0.05)
    with config_context(dtype="float64"):
        score = weighted_rsa(models, brain, n_splits=4)
    np.testing.assert_allclose(score.extra["weights"], TRUE_WEIGHTS, atol=0.05)
    assert score.extra["weights_per_split"].shape == (4, 3) and score.per_split.shape == (4,)
    # the held-out mixture beats the best single model (even one scored on all pairs)
    best_single = max(spearmanr(m, brain.condensed[0])[0] for m in models.condensed)
    assert score.value > best_single + 0.1 and score.value > 0.9


def test_stimulus_order_of_the_brain_rdm_does_not_matter():
    models, brain = simulated_rdms()
    shuffled = brain.reorder(list(np.random.default_rng(2).permutation(brain.stimulus_ids)))
    models_shuffled = models.reorder(shuffled.stimulus_ids)
    with config_context(dtype="float64"):
        a = weighted_rsa(models, brain, method="pearson")
        b = weighted_rsa(models, shuffled.reorder(brain.stimulus_ids), method="pearson")
        c = weighted_rsa(models_shuffled, brain, method="pearson")
    assert a.value == pytest.approx(b.value, rel=1e-12)
    assert c.value == pytest.approx(a.value, rel=1e-12)


def test_errors_name_the_bad_value():
    models, brain = simulated_rdms(n_stimuli=12)
    with pytest.raises(InvalidInputError, match="one brain RDM"):
        weighted_rsa(models, RDM(np.vstack([brain.condensed] * 2), brain.stimulus_ids))
    with pytest.raises(InvalidInputError, match="n_splits"):
        weighted_rsa(models, brain, n_splits=6)
    with pytest.raises(InvalidInputError, match="n_pairs"):
        fit_rdm_weights(np.ones((2, 5)), np.ones(4))
