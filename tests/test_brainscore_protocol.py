"""Brain-Score's protocol against direct implementations of its published formulas, and its benchmarks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats
from sklearn.cross_decomposition import PLSRegression
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features, make_responses
from brainalign.metrics.ceilings.reliability import internal_consistency
from brainalign.metrics.encoding.engine import score_correlations
from brainalign.metrics.encoding.variants import cross_regressed_correlation

N_STIMULI, N_FEATURES, N_NEUROIDS, N_REPS = 200, 40, 12, 6


def _data(seed: int = 0, missing: bool = False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_STIMULI, N_FEATURES))
    signal = X[:, :5] @ rng.normal(size=(5, N_NEUROIDS))
    trials = signal[:, :, None] + 2.0 * rng.normal(size=(N_STIMULI, N_NEUROIDS, N_REPS))
    if missing:  # some stimuli lack their last repeats, as in Cowley's session 210325
        trials[rng.random(N_STIMULI) < 0.3, :, -2:] = np.nan
    ids = [f"s{i}" for i in range(N_STIMULI)]
    return X, trials, make_features(X, ids), make_responses(trials, ids, dims=("stimulus", "neuroid", "repetition"))


def _brain_score_loop(X, Y, splitter, labels):
    """Brain-Score's CrossRegressedCorrelation written out: sklearn PLS-25, scipy pearsonr per neuroid.

    sklearn's NIPALS stops at tol=1e-6, so r agrees to ~1e-4, not to machine precision."""
    per_split = []
    for train, test in splitter.split(X, labels):
        predicted = PLSRegression(25, scale=False).fit(X[train], Y[train]).predict(X[test])
        r = [scipy.stats.pearsonr(predicted[:, j], Y[test, j])[0] for j in range(Y.shape[1])]
        per_split.append(np.median(r))
    per_split = np.array(per_split)
    return per_split.mean(), per_split.std() / np.sqrt(len(per_split)), per_split


def test_cross_regressed_correlation_matches_the_published_loop():
    X, trials, features, responses = _data()
    expected, expected_error, expected_splits = _brain_score_loop(
        X, trials.mean(axis=2), ShuffleSplit(10, train_size=0.9, test_size=0.1, random_state=1), None)
    with config_context(dtype="float64"):
        score = cross_regressed_correlation(features, responses)
    np.testing.assert_allclose(score.per_split, expected_splits, atol=1e-4)
    assert score.raw == pytest.approx(expected, abs=1e-4) and score.value == score.raw
    assert score.error == pytest.approx(expected_error, abs=1e-5)


def test_stratified_splits_match_sklearn_stratified_shuffle_split():
    X, trials, features, responses = _data(1)
    objects = np.repeat(["a", "b", "c", "d"], N_STIMULI // 4)
    responses = responses.assign_coords(object_name=("stimulus", objects))
    expected, _, _ = _brain_score_loop(
        X, trials.mean(axis=2), StratifiedShuffleSplit(10, train_size=0.9, test_size=0.1, random_state=1), objects)
    with config_context(dtype="float64"):
        score = cross_regressed_correlation(features, responses, stratify_coord="object_name")
    assert score.raw == pytest.approx(expected, abs=1e-4)
    with pytest.raises(InvalidInputError, match="object"):
        cross_regressed_correlation(features, responses, stratify_coord="objects")


def _direct_internal_consistency(trials):
    corrected = []
    for first, second in ShuffleSplit(10, train_size=0.5, test_size=0.5, random_state=1).split(trials[0, 0]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            a, b = np.nanmean(trials[:, :, first], axis=2), np.nanmean(trials[:, :, second], axis=2)
        r = []
        for j in range(trials.shape[1]):
            ok = np.isfinite(a[:, j]) & np.isfinite(b[:, j])
            r.append(scipy.stats.pearsonr(a[ok, j], b[ok, j])[0])
        r = np.array(r)
        corrected.append(np.median(2 * r / (1 + r)))
    return np.mean(corrected), np.array(corrected)


@pytest.mark.parametrize("missing", [False, True])
def test_internal_consistency_matches_direct_numpy(missing):
    _, trials, _, responses = _data(2, missing=missing)
    expected, expected_splits = _direct_internal_consistency(trials)
    score = internal_consistency(responses)
    np.testing.assert_allclose(score.per_split, expected_splits, atol=1e-10)
    assert score.value == pytest.approx(expected, abs=1e-10)


def test_ceiled_score_is_squared_ratio_of_aggregates_and_clamped():
    X, trials, features, responses = _data(3)
    with config_context(dtype="float64"):
        raw = cross_regressed_correlation(features, responses).raw
        ceiled = cross_regressed_correlation(features, responses, ceiling="internal-consistency")
    ceiling, _ = _direct_internal_consistency(trials)
    assert ceiled.raw == pytest.approx(raw, abs=1e-12) and ceiled.ceiling == pytest.approx(ceiling, abs=1e-10)
    assert ceiled.value == pytest.approx(min(1.0, (raw / ceiling) ** 2), abs=1e-10)
    assert ceiled.extra["unclamped"] == pytest.approx((raw / ceiling) ** 2, abs=1e-10)
    assert ceiled.extra["units"]["value"] == "(r / ceiling)^2"
    high = score_correlations(np.array([[0.9, 0.8], [0.7, 0.8]]), ceiling=0.5, aggregation="brain-score")
    low = score_correlations(np.array([[-0.2, -0.4], [-0.2, -0.2]]), ceiling=0.5, aggregation="brain-score")
    assert high.value == 1.0 and high.extra["unclamped"] == pytest.approx((0.8 / 0.5) ** 2)
    assert low.raw == pytest.approx(-0.25) and low.value == pytest.approx(0.25)  # squared: sign lost, as Brain-Score


def test_nonpositive_ceiling_gives_nan_with_one_warning():
    with pytest.warns(RuntimeWarning, match="not positive") as caught:
        score = score_correlations(np.array([[0.5, 0.6], [0.7, 0.6]]), ceiling=-0.1, aggregation="brain-score")
    assert np.isnan(score.value) and len(caught) == 1 and score.raw == pytest.approx(0.6)


def test_internal_consistency_ceiling_needs_repetitions():
    _, trials, features, _ = _data(4)
    averaged = make_responses(trials.mean(axis=2), [f"s{i}" for i in range(N_STIMULI)])
    with pytest.raises(InvalidInputError, match="repetition"):
        cross_regressed_correlation(features, averaged, ceiling="internal-consistency")


def test_default_aggregation_is_unchanged():
    correlations = np.array([[0.1, 0.5, 0.9], [0.3, 0.2, 0.8]])
    ours = score_correlations(correlations)
    brain_score = score_correlations(correlations, aggregation="brain-score")
    assert ours.raw == pytest.approx(np.median(correlations.mean(axis=0)))  # 0.35
    assert brain_score.raw == pytest.approx(np.mean(np.median(correlations, axis=1)))  # 0.4


def test_brain_score_benchmarks_are_registered():
    import brainalign.benchmarks.brainscore_protocol  # noqa: F401  (until the registry imports it)
    from brainalign.benchmarks.registry import get_benchmark

    assert get_benchmark("Cowley2023.V4-pls").metric_options == {"regression": "pls",
                                                                 "ceiling": "internal-consistency"}
    assert get_benchmark("Cowley2023.V4-pls-190923").metric_options["ceiling"] is None
    assert get_benchmark("Cowley2023.V4-ridge").metric == "ridge"


def test_stimulus_at_half_the_field_fills_half_the_view_gray_elsewhere():
    from PIL import Image

    from brainalign.models.screen import screen_view

    view = np.asarray(screen_view(Image.new("RGB", (112, 112), "white"), stimulus_degrees=4, image_size=224))
    white = np.all(view == 255, axis=2)
    gray = np.all(view == 128, axis=2)
    rows, cols = np.nonzero(white)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (56, 167, 56, 167)  # the central 112 of 224
    assert white.sum() == 112 * 112 and gray.sum() == 224 * 224 - 112 * 112


def test_uncropped_preprocessing_keeps_the_stimulus_border():
    from PIL import Image

    from brainalign.models.screen import uncropped
    from brainalign.models.sources.base import ImagePreprocessing

    framed = np.full((112, 112, 3), 255, np.uint8)
    framed[:6], framed[-6:], framed[:, :6], framed[:, -6:] = 0, 0, 0, 0  # black 6-pixel frame
    image = Image.fromarray(framed)
    default = ImagePreprocessing(image_size=224, resize_size=256, mean=(0, 0, 0), std=(1, 1, 1))
    # resize-then-crop keeps the central 98 of 112 pixels: the 7-pixel outer band (the frame) is cut
    assert float(default.transform(image)[0, 0, 0]) > 0.9
    kept = uncropped(default).transform(image)
    assert kept.shape == (3, 224, 224) and float(kept[0, 0, 0]) == 0.0 and float(kept[0, 112, 112]) == 1.0


@pytest.mark.slow
def test_v4_pls_on_session_210325_is_in_unit_range_and_trained_beats_random(shared_data):
    from brainalign.benchmarks.brainscore_protocol import BRAIN_SCORE_BENCHMARKS
    from brainalign.runner.score import score

    benchmark = BRAIN_SCORE_BENCHMARKS[0]
    trained = score("efficientnet_lite0", benchmark, ["blocks.3"]).scores["blocks.3"]
    random = score("efficientnet_lite0_random", benchmark, ["blocks.3"]).scores["blocks.3"]
    assert 0.0 <= random.value < trained.value <= 1.0
    assert 0.0 < trained.ceiling < 1.0
    assert trained.extra["unclamped"] == pytest.approx((trained.raw / trained.ceiling) ** 2)
