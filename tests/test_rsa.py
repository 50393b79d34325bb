"""The registered RSA metric against rsatoolbox (calc_rdm + compare + boot_noise_ceiling) on the same inputs."""

import itertools
import warnings as _warnings_module

import numpy as np
import pandas as pd
import pytest
import rsatoolbox
from rsatoolbox.inference import boot_noise_ceiling
from rsatoolbox.rdm import compare
from scipy import stats

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import make_features
from brainalign.data.rdm import RDM
from brainalign.metrics.registry import METRICS
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.metrics.similarity.rsa import rsa
from brainalign.stats.bootstrap import bootstrap_rsa
from brainalign.stats.permutation import permutation_test_rsa

RNG = np.random.default_rng(3)
N = 20
IDS = [f"img{i:02d}" for i in range(N)]
LATENT = RNG.normal(size=(N, 6))
FEATURES = make_features(LATENT @ RNG.normal(size=(6, 30)), IDS, layer="layer3", model="toy")


def _subject_rdms(n_subjects=6, noise=1.0):
    brains = [LATENT @ RNG.normal(size=(6, 40)) + RNG.normal(0, noise, (N, 40)) for _ in range(n_subjects)]
    vectors = np.stack([rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(b), method="correlation").get_vectors()[0]
                        for b in brains])
    return RDM(vectors, IDS, "correlation", pd.DataFrame({"subject": range(n_subjects)}))


def test_matches_rsatoolbox_with_ceiling():
    subjects = _subject_rdms()
    score = METRICS["rsa"](FEATURES, subjects)  # registered on import (get_metric also loads other modules)
    model = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(FEATURES.values.astype(float)), method="correlation")
    per_subject = compare(model, subjects.to_rsatoolbox(), "spearman")[0]
    lower, upper = boot_noise_ceiling(subjects.to_rsatoolbox(), method="spearman")
    np.testing.assert_allclose(score.per_split, per_subject, atol=1e-5)  # float32 default
    assert score.raw == pytest.approx(per_subject.mean(), abs=1e-5)
    assert score.error == pytest.approx(stats.sem(per_subject), abs=1e-5)
    assert score.extra["error_kind"] == "SEM over subjects"
    assert score.ceiling == pytest.approx(lower, abs=1e-10)
    assert score.value == pytest.approx(score.raw / lower)
    assert score.extra["percent_of_ceiling"] == pytest.approx(100 * score.raw / lower)
    assert score.extra["ceiling_upper"] == pytest.approx(upper, abs=1e-10)
    assert score.provenance["layer"] == "layer3"


def test_sessions_are_averaged_within_subjects_and_order_is_aligned():
    subjects = _subject_rdms(4)
    sessions = RDM(np.repeat(subjects.condensed, 2, axis=0), IDS, descriptors=pd.DataFrame(
        {"subject": np.repeat(["a", "b", "c", "d"], 2), "session": [1, 2] * 4}))
    shuffled = sessions.reorder(list(reversed(IDS)))
    with config_context(dtype="float64"):
        expected, got = rsa(FEATURES, subjects), rsa(FEATURES, shuffled)
    np.testing.assert_allclose(got.per_split, expected.per_split, atol=1e-12)
    assert got.ceiling == pytest.approx(expected.ceiling)


def test_single_target_has_no_ceiling():
    one = _subject_rdms(1)
    with config_context(dtype="float64"):
        score = rsa(FEATURES, RDM(one.condensed, IDS), comparison="pearson")
    model = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(FEATURES.values.astype(float)), method="correlation")
    assert np.isnan(score.ceiling)
    assert score.value == pytest.approx(compare(model, one.to_rsatoolbox(), "corr")[0, 0], abs=1e-10)


def _net2brain_by_hand(model_vector, subject_vectors):
    """Net2Brain's RSA columns written out with scipy: r² per subject and plain-mean noise ceilings."""
    r = np.array([stats.spearmanr(model_vector, v)[0] for v in subject_vectors])
    others = [np.delete(subject_vectors, i, axis=0).mean(0) for i in range(len(subject_vectors))]
    lnc = np.mean([stats.spearmanr(v, o)[0] ** 2 for v, o in zip(subject_vectors, others, strict=True)])
    unc = np.mean([stats.spearmanr(v, subject_vectors.mean(0))[0] ** 2 for v in subject_vectors])
    return r, lnc, unc


def test_net2brain_convention_by_hand_and_default_unchanged():
    subjects = _subject_rdms()
    with config_context(dtype="float64"):
        model = compute_rdm(FEATURES)
        default = rsa(FEATURES, subjects)
    score = rsa(FEATURES, subjects, convention="net2brain")  # float32 features → RDM, float64 comparisons
    r, lnc, unc = _net2brain_by_hand(compute_rdm(FEATURES).condensed[0].astype(float), subjects.condensed)
    np.testing.assert_allclose(score.per_split, r**2, rtol=1e-12)
    np.testing.assert_allclose(score.extra["r_per_subject"], r, rtol=1e-12)
    assert score.raw == pytest.approx((r**2).mean(), rel=1e-12)
    assert score.ceiling == pytest.approx(lnc, rel=1e-12)
    assert score.extra["ceiling_upper"] == pytest.approx(unc, rel=1e-12)
    assert score.value == pytest.approx(100 * (r**2).mean() / lnc, rel=1e-12)
    assert score.error == pytest.approx(np.std(r**2, ddof=1) / np.sqrt(len(r)), rel=1e-12)
    assert score.extra["error_kind"] == "SEM over subjects (of r²)"
    assert score.extra["significance"] == pytest.approx(stats.ttest_1samp(r**2, 0).pvalue, rel=1e-10)
    assert score.extra["p_value"] == pytest.approx(stats.ttest_1samp(r, 0).pvalue, rel=1e-10)
    assert score.extra["units"] == "% of LNC" and score.provenance["convention"] == "net2brain"
    # the default convention is rsatoolbox's, with its rank-pool ceiling, and a model RDM gives the same score
    lower, _ = boot_noise_ceiling(subjects.to_rsatoolbox(), method="spearman")
    assert default.ceiling == pytest.approx(lower, abs=1e-10) and default.extra["convention"] == "rsatoolbox"
    with config_context(dtype="float64"):
        on_rdm = rsa(model, subjects)
    assert on_rdm.value == pytest.approx(default.value, rel=1e-12)


def test_squared_significance_is_biased_and_signed_test_is_not():
    """Under the null (model and 20 subjects independent noise), Net2Brain's t-test of r² rejects nearly always at
    0.05; the t-test of the signed r at its nominal rate."""
    rng = np.random.default_rng(11)
    p_pairs = N * (N - 1) // 2
    squared_p, signed_p = [], []
    for _ in range(100):
        score = rsa(RDM(rng.random(p_pairs), IDS), RDM(rng.random((20, p_pairs)), IDS), convention="net2brain")
        r = score.extra["r_per_subject"]
        assert score.extra["significance"] == pytest.approx(stats.ttest_1samp(r**2, 0).pvalue, rel=1e-10)
        squared_p.append(score.extra["significance"])
        signed_p.append(score.extra["p_value"])
    assert np.mean(np.array(squared_p) < 0.05) > 0.95
    assert np.mean(np.array(signed_p) < 0.05) < 0.12


def test_convention_and_comparison_are_checked():
    subjects = _subject_rdms(3)
    with pytest.raises(UnknownNameError, match="net2brain"):
        rsa(FEATURES, subjects, convention="brainscore")
    with pytest.raises(InvalidInputError, match="squares correlations"):
        rsa(FEATURES, subjects, convention="net2brain", comparison="tau-a")
    with pytest.raises(InvalidInputError, match="distance"):
        rsa(FEATURES, subjects, comparison="euclidean")
    with pytest.raises(InvalidInputError, match="one model RDM"):
        rsa(RDM(subjects.condensed[:2], IDS), subjects)


def test_mismatched_stimuli_raise():
    subjects = _subject_rdms(3)
    other = RDM(subjects.condensed, IDS[:-1] + ["elsewhere"])
    with pytest.raises(InvalidInputError, match="different stimuli"):
        rsa(FEATURES, other)


def test_ceiling_normalises_only_when_subjects_agree():
    from brainalign.metrics.ceilings.noise_ceiling import rdm_noise_ceiling

    rng = np.random.default_rng(3)
    ids = [f"s{i}" for i in range(30)]
    features = make_features(rng.normal(size=(30, 20)), ids)
    with config_context(dtype="float64"):
        truth = compute_rdm(features, distance="correlation").condensed[0]
    subjects = pd.DataFrame({"subject": range(8)})
    agreeing = RDM(truth + rng.normal(0, truth.std(), (8, truth.size)), ids, descriptors=subjects)
    unrelated = RDM(rng.random((8, truth.size)), ids, descriptors=subjects)

    with _warnings_module.catch_warnings():
        _warnings_module.simplefilter("error")
        good = rsa(features, agreeing)
    lower, _ = rdm_noise_ceiling(agreeing, "spearman")
    assert good.extra["ceiling_reliable"] and good.value == pytest.approx(good.raw / lower)

    with pytest.warns(UserWarning, match="do not agree"):
        bad = rsa(features, unrelated)
    assert not bad.extra["ceiling_reliable"] and bad.value == bad.raw


def _single_warning(call):
    """The result of ``call()`` and the one warning it gave (asserting there was exactly one)."""
    with _warnings_module.catch_warnings(record=True) as caught:
        _warnings_module.simplefilter("always")
        result = call()
    assert len(caught) == 1, [str(w.message) for w in caught]
    return result, str(caught[0].message)


def test_constant_features_give_nan_and_one_warning():
    subjects = _subject_rdms(4)
    same_everywhere = make_features(np.tile(RNG.normal(size=(1, 30)), (N, 1)), IDS)
    score, message = _single_warning(lambda: rsa(same_everywhere, subjects))
    assert np.isnan(score.value) and np.isnan(score.raw) and "same for every stimulus" in message


def test_constant_brain_rdm_gives_nan_and_one_warning():
    flat = RDM(np.full((1, N * (N - 1) // 2), 0.7), IDS)
    score, message = _single_warning(lambda: rsa(FEATURES, flat))
    assert np.isnan(score.value) and "constant" in message
    subjects = _subject_rdms(4)
    with_flat = RDM(np.vstack([subjects.condensed[:3], flat.condensed]), IDS)
    score, _ = _single_warning(lambda: rsa(FEATURES, with_flat))
    assert np.isnan(score.value) and np.isnan(score.per_split[3])


def test_fewer_than_four_stimuli_give_nan_and_one_warning():
    few = make_features(RNG.normal(size=(3, 5)), IDS[:3])
    target = RDM(RNG.random((2, 3)), IDS[:3], descriptors=pd.DataFrame({"subject": [1, 2]}))
    score, message = _single_warning(lambda: rsa(few, target))
    assert np.isnan(score.value) and "at least 4 stimuli; got 3" in message
    averaged, _ = _single_warning(lambda: rsa(few, target, convention="net2brain"))
    assert np.isnan(averaged.value)
    flat_model, message = _single_warning(lambda: rsa(RDM(np.ones(N * (N - 1) // 2), IDS), _subject_rdms(3)))
    assert np.isnan(flat_model.value) and "constant" in message


@pytest.mark.parametrize("distance, row", [("correlation", np.full(30, 2.5)), ("cosine", np.zeros(30))])
def test_undefined_stimulus_distance_names_the_stimulus(distance, row):
    values = FEATURES.values.copy()
    values[7] = row
    with pytest.raises(InvalidInputError, match=r"1 stimuli have .* \['img07'\]"):
        rsa(make_features(values, IDS), _subject_rdms(3), distance=distance)


def test_bootstrap_and_permutation_average_sessions_like_rsa():
    """Sessions were treated as subjects by the bootstrap and the permutation test, but averaged by rsa."""
    subjects = _subject_rdms(3)
    sessions = RDM(np.repeat(subjects.condensed, 2, axis=0) + RNG.normal(0, 0.3, (6, subjects.condensed.shape[1])),
                   IDS, descriptors=pd.DataFrame({"subject": np.repeat([1, 2, 3], 2)}))
    with config_context(dtype="float64"):
        score = rsa(FEATURES, sessions)
        model = compute_rdm(FEATURES)
    assert permutation_test_rsa(model, sessions, n_permutations=9).statistic == pytest.approx(score.raw, abs=1e-12)
    samples = bootstrap_rsa(model, sessions, n_samples=20, resample="subjects", noise_ceiling=False).samples[:, 0]
    means = compare(model.to_rsatoolbox(), sessions.subject_means().to_rsatoolbox(), "spearman")[0]
    assert set(np.round(samples, 10)) <= {round(float(np.mean(means[list(draw)])), 10)
                                          for draw in itertools.product(range(3), repeat=3)}
