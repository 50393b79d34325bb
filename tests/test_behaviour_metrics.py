"""Behavioural metrics against direct implementations of their formulas on generated data with known answers."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score

from brainalign.metrics.behaviour import accuracy, error_consistency, human_consistency, shape_bias
from brainalign.models.task import CATEGORIES

RNG = np.random.default_rng(0)


def test_accuracy_equals_sklearn():
    truth = RNG.choice(CATEGORIES, 500)
    decisions = np.where(RNG.random(500) < 0.6, truth, RNG.choice(CATEGORIES, 500))
    assert accuracy(decisions, truth) == pytest.approx(accuracy_score(truth, decisions))


def test_error_consistency_is_cohens_kappa_of_correctness():
    a, b = RNG.random(400) < 0.7, RNG.random(400) < 0.4
    b[:200] = a[:200]  # half the trials shared: partly consistent observers
    assert error_consistency(a, b) == pytest.approx(cohen_kappa_score(a, b))
    p1, p2 = a.mean(), b.mean()
    expected = p1 * p2 + (1 - p1) * (1 - p2)
    assert error_consistency(a, b) == pytest.approx(((a == b).mean() - expected) / (1 - expected))


def test_copying_a_human_gives_consistency_one_and_independent_observers_near_zero():
    human = RNG.random(20000) < 0.65
    assert error_consistency(human.copy(), human) == 1.0
    independent = RNG.random(20000) < 0.65
    assert abs(error_consistency(independent, human)) < 0.03  # SE of kappa ~ 1/sqrt(n) = 0.007


def test_error_consistency_of_always_correct_observers_is_nan_with_one_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = error_consistency(np.ones(10, bool), np.ones(10, bool))
    assert np.isnan(value) and len(caught) == 1 and "always right" in str(caught[0].message)


def test_human_consistency_is_the_mean_over_subject_pairs():
    subjects = {f"s{i}": RNG.random(300) < 0.6 for i in range(4)}
    pairs = [cohen_kappa_score(subjects[f"s{i}"], subjects[f"s{j}"]) for i in range(4) for j in range(i + 1, 4)]
    assert human_consistency(subjects) == pytest.approx(np.mean(pairs))


def test_shape_bias_counts_shape_among_shape_or_texture_decisions():
    shape = RNG.choice(CATEGORIES, 1000)
    texture = RNG.choice(CATEGORIES, 1000)
    # simulated observer: shape with probability 0.3, texture 0.5, another class otherwise; true bias 0.3 / 0.8
    u = RNG.random(1000)
    decisions = np.where(u < 0.3, shape, np.where(u < 0.8, texture, "oven"))
    conflict = shape != texture
    n_shape = np.sum((decisions == shape) & conflict)
    n_texture = np.sum((decisions == texture) & conflict)
    assert shape_bias(decisions, shape, texture) == pytest.approx(n_shape / (n_shape + n_texture))
    assert shape_bias(decisions, shape, texture) == pytest.approx(0.3 / 0.8, abs=0.05)


def test_shape_bias_excludes_images_whose_cues_agree():
    assert shape_bias(["cat", "cat", "dog"], ["cat", "cat", "cat"], ["cat", "dog", "dog"]) == 0.5


def test_shape_bias_without_cue_decisions_is_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="shape bias is NaN"):
        assert np.isnan(shape_bias(["oven"], ["cat"], ["dog"]))
