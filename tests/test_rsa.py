"""The registered RSA metric against rsatoolbox (calc_rdm + compare + boot_noise_ceiling) on the same inputs."""

import numpy as np
import pandas as pd
import pytest
import rsatoolbox
from rsatoolbox.inference import boot_noise_ceiling
from rsatoolbox.rdm import compare
from scipy import stats

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features
from brainalign.data.rdm import RDM
from brainalign.metrics.registry import METRICS
from brainalign.metrics.similarity.rsa import rsa, rsa_subject_averaged

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
    expected = rsa(FEATURES, subjects, dtype="float64")
    got = rsa(FEATURES, shuffled, dtype="float64")
    np.testing.assert_allclose(got.per_split, expected.per_split, atol=1e-12)
    assert got.ceiling == pytest.approx(expected.ceiling)


def test_single_target_has_no_ceiling():
    one = _subject_rdms(1)
    score = rsa(FEATURES, RDM(one.condensed, IDS), comparison="pearson", dtype="float64")
    model = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(FEATURES.values.astype(float)), method="correlation")
    assert np.isnan(score.ceiling)
    assert score.value == pytest.approx(compare(model, one.to_rsatoolbox(), "corr")[0, 0], abs=1e-10)


def test_subject_averaged_variants():
    subjects = _subject_rdms()
    direct = rsa_subject_averaged(FEATURES, subjects, dtype="float64")
    squared = rsa_subject_averaged(FEATURES, subjects, squared=True, dtype="float64")
    r = rsa(FEATURES, subjects, dtype="float64").per_split
    assert direct.value == pytest.approx(r.mean())
    assert squared.value == pytest.approx((r**2).mean())
    assert squared.extra["p_value"] == pytest.approx(stats.ttest_1samp(r**2, 0).pvalue)
    lower, _ = boot_noise_ceiling(subjects.to_rsatoolbox(), method="spearman")
    assert squared.extra["percent_of_ceiling"] == pytest.approx(100 * (r**2).mean() / lower**2)


def test_mismatched_stimuli_raise():
    subjects = _subject_rdms(3)
    other = RDM(subjects.condensed, IDS[:-1] + ["elsewhere"])
    with pytest.raises(InvalidInputError, match="different stimuli"):
        rsa(FEATURES, other)


def test_ceiling_normalises_only_when_subjects_agree():
    import warnings as _warnings

    from brainalign.metrics.ceilings.noise_ceiling import rdm_noise_ceiling
    from brainalign.metrics.similarity.rdms import compute_rdm

    rng = np.random.default_rng(3)
    ids = [f"s{i}" for i in range(30)]
    features = make_features(rng.normal(size=(30, 20)), ids)
    truth = compute_rdm(features, distance="correlation", dtype="float64").condensed[0]
    subjects = pd.DataFrame({"subject": range(8)})
    agreeing = RDM(truth + rng.normal(0, truth.std(), (8, truth.size)), ids, descriptors=subjects)
    unrelated = RDM(rng.random((8, truth.size)), ids, descriptors=subjects)

    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        good = rsa(features, agreeing)
    lower, _ = rdm_noise_ceiling(agreeing, "spearman")
    assert good.extra["ceiling_reliable"] and good.value == pytest.approx(good.raw / lower)

    with pytest.warns(UserWarning, match="do not agree"):
        bad = rsa(features, unrelated)
    assert not bad.extra["ceiling_reliable"] and bad.value == bad.raw
