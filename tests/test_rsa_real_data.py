"""Real data: on Net2Brain78 IT (15 subjects) the trained network's RSA is significant and its random twin's is not.

The subject-averaged RSA and its t-test are checked against scipy on the same features (``pdist`` + ``spearmanr``
+ ``ttest_1samp``); the features themselves come from ``Extractor`` (checked against a bare forward pass in
test_models_extractor.py), so the scipy numbers are also pinned as regression values, as is the permutation p-value,
which only ``permutation_test_rsa`` computes.
"""

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats

from brainalign.data.registry import get_dataset
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.metrics.similarity.rsa import rsa
from brainalign.models.extractor import Extractor
from brainalign.stats.permutation import permutation_test_rsa

pytestmark = pytest.mark.slow
MODELS = ("efficientnet_lite0", "efficientnet_lite0_random")
# Regression values (features from Extractor, numbers from scipy; the permutation p from permutation_test_rsa,
# 999 permutations, seed 0): mean Spearman rho over the 15 subjects, subject t-test p, stimulus-permutation p.
PINNED = {"efficientnet_lite0": (0.0553803, 0.00213897, 0.001),
          "efficientnet_lite0_random": (0.0121461, 0.389793, 0.173)}


@pytest.fixture(scope="module")
def significance(shared_data):
    dataset = get_dataset("Net2Brain78")
    stimuli, it = dataset.stimulus_set(), dataset.rdms("IT")
    per_subject = it.reorder(stimuli.stimulus_ids).condensed  # one IT RDM per subject
    out = {}
    for model in MODELS:
        features = Extractor(model, layers=["blocks.5"], progress=False).extract(stimuli)["blocks.5"]
        score = rsa(features, it, convention="net2brain")
        permutation = permutation_test_rsa(compute_rdm(features), it.mean(), n_permutations=999, seed=0).p_value
        model_rdm = scipy.spatial.distance.pdist(features.values.astype(np.float64), "correlation")
        rho = np.array([scipy.stats.spearmanr(model_rdm, subject).statistic for subject in per_subject])
        out[model] = score, permutation, rho
    return out


@pytest.mark.parametrize("model", MODELS)
def test_subject_averaged_rsa_equals_scipy_on_the_same_features(significance, model):
    score, _, rho = significance[model]
    np.testing.assert_allclose(score.extra["r_per_subject"], rho, rtol=1e-3, atol=1e-5)  # float32 RDM vs float64
    np.testing.assert_allclose(score.per_split, rho**2, rtol=2e-3, atol=1e-7)  # Net2Brain: R² per subject
    np.testing.assert_allclose(score.raw, np.mean(rho**2), rtol=2e-3)
    np.testing.assert_allclose(score.extra["p_value"], scipy.stats.ttest_1samp(rho, 0.0).pvalue, rtol=1e-3)


@pytest.mark.parametrize("model", MODELS)
def test_rsa_and_p_values_equal_the_pinned_values(significance, model):
    _, permutation, rho = significance[model]
    expected_rho, expected_t_p, expected_permutation_p = PINNED[model]
    np.testing.assert_allclose(rho.mean(), expected_rho, rtol=1e-3)
    np.testing.assert_allclose(scipy.stats.ttest_1samp(rho, 0.0).pvalue, expected_t_p, rtol=1e-3)
    assert permutation == pytest.approx(expected_permutation_p, abs=1e-9)


def test_trained_model_it_rsa_is_significant_and_random_twin_is_not(significance):
    trained, random = significance["efficientnet_lite0"], significance["efficientnet_lite0_random"]
    assert trained[0].extra["p_value"] < 0.01 and trained[1] < 0.01
    assert random[0].extra["p_value"] > 0.05 and random[1] > 0.05
