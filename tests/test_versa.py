"""veRSA against the same pipeline built from scikit-learn, scipy pdist and scipy spearmanr."""

import math
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr
from sklearn.linear_model import Ridge

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features, make_responses
from brainalign.data.synthetic import simulated_brain
from brainalign.mapping.cv import kfold_splits
from brainalign.mapping.ridge import RidgeCV
from brainalign.metrics.encoding.versa import versa
from brainalign.metrics.registry import METRICS


def test_versa_matches_reference_pipeline():
    brain = simulated_brain(n_stimuli=120, n_features=15, n_neuroids=25, snr=1.0, seed=4)
    X, Y = brain.features.values, brain.responses.values.mean(-1)
    splits = kfold_splits(120, 4, seed=1)
    with config_context(dtype="float64"):
        score = versa(brain.features, brain.responses, estimator=RidgeCV([5.0]), splits=splits)
    expected = [spearmanr(pdist(Ridge(5.0).fit(X[tr], Y[tr]).predict(X[te]), "correlation"),
                          pdist(Y[te], "correlation"))[0] for tr, te in splits]
    np.testing.assert_allclose(score.per_split, expected, atol=1e-8)
    assert score.value == pytest.approx(np.mean(expected))
    assert "versa" in METRICS


def test_versa_is_one_for_a_noiseless_linear_brain_and_low_for_noise():
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(150)]
    features = rng.normal(size=(150, 10))
    exact = versa(make_features(features, ids), make_responses(features @ rng.normal(size=(10, 30)), ids))
    assert exact.value > 0.99
    noise = versa(make_features(features, ids), make_responses(rng.normal(size=(150, 30)), ids))
    assert abs(noise.value) < 0.2


def test_versa_rejects_mismatched_ids():
    with pytest.raises(InvalidInputError, match="stimulus ids"):
        versa(make_features(np.ones((3, 2)), list("abc")), make_responses(np.ones((3, 2)), list("abd")))


@pytest.mark.parametrize("case,reason", [("few", "only 3 stimuli"), ("constant-features", "source is constant"),
                                         ("constant-responses", "target is constant")])
def test_degenerate_inputs_give_nan_with_one_warning(case, reason):
    rng = np.random.default_rng(5)
    n = 3 if case == "few" else 30
    ids = [f"s{i}" for i in range(n)]
    features, responses = rng.normal(size=(n, 4)), rng.normal(size=(n, 6))
    if case == "constant-features":
        features[:] = 2.0
    if case == "constant-responses":
        responses[:] = 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = versa(make_features(features, ids), make_responses(responses, ids))
    assert math.isnan(score.value)
    assert len(caught) == 1 and reason in str(caught[0].message) and "versa" in str(caught[0].message)
