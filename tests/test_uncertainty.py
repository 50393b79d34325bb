"""Uncertainty: bootstrap CIs of encoding scores and CKA against direct loops, coverage on simulated brains,
false-positive rate of the paired comparison under the null, diagnostics warnings."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features, make_responses
from brainalign.data.synthetic import simulated_brain
from brainalign.mapping.linear import LinearRegression
from brainalign.mapping.ridge import RidgeCV
from brainalign.metrics.ceilings.reliability import split_half_reliability
from brainalign.metrics.encoding.bootstrap import bootstrap_encoding, bootstrap_subjects
from brainalign.metrics.encoding.engine import (
    cross_validated_predictions,
    encoding_score,
    resolve_splits,
    ridge_encoding,
)
from brainalign.metrics.similarity.cka import cka_from_grams, gram
from brainalign.stats.compare import compare_scores
from brainalign.stats.diagnostics import check_above_ceiling, check_alpha_grid, check_noise_ceiling, check_reliability
from brainalign.stats.uncertainty import bootstrap_cka, encoding_with_uncertainty


def _tiny_cv(seed=0, n=12, n_neuroids=3, n_splits=3, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    Y = X @ rng.normal(size=(2, n_neuroids)) + noise * rng.normal(size=(n, n_neuroids))
    with config_context(dtype="float64"):
        return cross_validated_predictions(LinearRegression(), X, Y, resolve_splits(n, n_splits=n_splits, seed=seed))


def _loop_draws(cv, n_samples, seed):
    """The draws of ``stimulus_counts``: per split, (n_samples, size) indices from one generator."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, len(test), (n_samples, len(test))) for _, test in cv.splits]


def _loop_score(cv, draws, b, ceiling=None):
    r = np.array([[stats.pearsonr(np.asarray(p)[idx[b], j], np.asarray(y)[idx[b], j])[0]
                   for j in range(p.shape[1])]
                  for p, y, idx in zip(cv.predictions, cv.targets, draws, strict=True)])
    mean = r.mean(0)
    if ceiling is not None:
        mean = mean[ceiling > 0] * np.abs(mean[ceiling > 0]) / ceiling[ceiling > 0]
    return np.median(mean)


@pytest.mark.parametrize("ceiling", [None, np.array([0.5, 0.0, 0.8])])
def test_bootstrap_ci_equals_a_direct_loop_over_samples(ceiling):
    cv = _tiny_cv()
    result = bootstrap_encoding(cv, n_samples=40, ceiling=ceiling, n_permutations=9, seed=3)
    draws = _loop_draws(cv, 40, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on constant resamples; those are NaN in both
        expected = np.array([_loop_score(cv, draws, b, ceiling) for b in range(40)])
    np.testing.assert_allclose(result.samples, expected, atol=1e-9)
    finite = expected[np.isfinite(expected)]
    np.testing.assert_allclose([result.ci_low, result.ci_high], np.percentile(finite, [2.5, 97.5]), atol=1e-9)
    observed = _loop_score(cv, [np.arange(len(t))[None] for _, t in cv.splits], 0, ceiling)
    assert result.value == pytest.approx(observed, abs=1e-12)


def test_encoding_value_is_the_engines_value():
    brain = simulated_brain(n_stimuli=80, n_features=4, n_neuroids=5, snr=1.0)
    with config_context(dtype="float64"):
        score = encoding_with_uncertainty(brain.features, brain.responses, LinearRegression(), n_samples=100,
                                          ceiling=brain.reliability)
        engine = encoding_score(brain.features, brain.responses, LinearRegression(), "ols",
                                ceiling=brain.reliability)
    assert score.value == pytest.approx(engine.value, abs=1e-12) and score.raw == pytest.approx(engine.raw, abs=1e-12)
    assert score.error == pytest.approx(engine.error) and score.extra["error_kind"] == "SEM over splits"
    assert score.extra["ci_low"] < score.value < score.extra["ci_high"]


def test_stimulus_bootstrap_ci_covers_the_fitted_models_truth_at_the_nominal_rate():
    """Truth: the fitted maps' population correlation (Gaussian X, Y = XW + σε): r = β̂·w / (|β̂| √(|w|² + σ²))."""
    covered, sigma, n = 0, 2.0, 200
    with config_context(dtype="float64"):
        for i in range(200):
            rng = np.random.default_rng(i)
            X, W = rng.normal(size=(n, 5)), rng.normal(size=(5, 8))
            Y = X @ W + sigma * rng.normal(size=(n, 8))
            cv = cross_validated_predictions(LinearRegression(), X, Y, resolve_splits(n, seed=i),
                                             summarize=lambda model: np.asarray(model.coef_))
            beta = np.stack(cv.fitted)
            r = np.einsum("spn,pn->sn", beta, W) / (np.linalg.norm(beta, axis=1) * np.sqrt((W**2).sum(0) + sigma**2))
            result = bootstrap_encoding(cv, n_samples=1000, n_permutations=9, seed=i)
            covered += result.ci_low <= np.median(r.mean(0)) <= result.ci_high
    assert 0.92 <= covered / 200 <= 0.98


def test_permutation_p_value_is_uniform_without_signal_and_small_with_it():
    p_values = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        cv = SimpleNamespace(predictions=[rng.normal(size=(30, 3))], targets=[rng.normal(size=(30, 3))])
        p_values.append(bootstrap_encoding(cv, n_samples=10, n_permutations=99, seed=seed).p_value)
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
    assert bootstrap_encoding(_tiny_cv(n=60, noise=0.5), n_samples=10, n_permutations=199).p_value == 0.005


def test_subject_bootstrap_equals_a_loop_over_pooled_neuroids():
    cv = _tiny_cv(n=30, n_neuroids=6)
    subjects = np.array(["a", "a", "b", "b", "b", "c"])
    result = bootstrap_subjects(cv, subjects, n_samples=50, seed=2)
    r = cv.correlations().mean(0)
    draws = np.random.default_rng(2).integers(0, 3, (50, 3))
    names = np.unique(subjects)
    expected = [np.median(np.concatenate([r[subjects == names[d]] for d in row])) for row in draws]
    np.testing.assert_allclose(result.samples, expected, atol=1e-12)
    assert result.value == pytest.approx(np.median(r))
    with pytest.raises(InvalidInputError, match="one label per neuroid"):
        bootstrap_subjects(cv, subjects[:3])


def test_encoding_with_subject_resampling_reads_the_subject_coordinate():
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(60)]
    X = rng.normal(size=(60, 3))
    responses = make_responses(X @ rng.normal(size=(3, 6)) + rng.normal(size=(60, 6)), ids,
                               neuroid_coords={"subject": ["a", "a", "b", "b", "c", "c"]})
    score = encoding_with_uncertainty(make_features(X, ids), responses, LinearRegression(), n_samples=100,
                                      resample="subjects")
    assert score.extra["ci_resampled"] == "subjects" and score.extra["ci_low"] <= score.value <= score.extra["ci_high"]
    with pytest.raises(InvalidInputError, match="subject"):
        encoding_with_uncertainty(make_features(X, ids), make_responses(rng.normal(size=(60, 2)), ids),
                                  LinearRegression(), resample="subjects")


def test_cka_bootstrap_equals_a_loop_of_cka_on_resampled_grams():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(15, 4))
    k, m = gram(x), gram(x + rng.normal(size=(15, 4)))
    result = bootstrap_cka(k, m, n_samples=30, n_permutations=99, seed=5)
    draws = np.random.default_rng(5).integers(0, 15, (30, 15))
    expected = [cka_from_grams(k[np.ix_(d, d)], m[np.ix_(d, d)]) for d in draws]
    np.testing.assert_allclose(result.samples, expected, atol=1e-10)
    assert result.value == pytest.approx(cka_from_grams(k, m), abs=1e-12)
    perm = np.argsort(np.random.default_rng(6).random((99, 15)), axis=1)
    null = np.array([cka_from_grams(k, m[np.ix_(p, p)]) for p in perm])
    assert result.p_value == pytest.approx((1 + np.sum(null >= result.value)) / 100)


def test_paired_comparison_equals_a_loop_and_shares_resamples():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(20, 3))
    splits = [(None, np.arange(10)), (None, np.arange(10, 20))]
    targets = [y[:10], y[10:]]
    a = SimpleNamespace(predictions=[t + rng.normal(size=t.shape) for t in targets], targets=targets, splits=splits)
    b = SimpleNamespace(predictions=[t + 2 * rng.normal(size=t.shape) for t in targets], targets=targets,
                        splits=splits)
    table = compare_scores({"a": a, "b": b}, n_samples=30, seed=4)
    draws = _loop_draws(a, 30, 4)
    difference = np.array([_loop_score(a, draws, i) - _loop_score(b, draws, i) for i in range(30)])
    np.testing.assert_allclose([table.ci_low[0], table.ci_high[0]], np.percentile(difference, [2.5, 97.5]),
                               atol=1e-9)
    observed = table.difference[0]
    assert table.p_value[0] == pytest.approx((1 + np.sum(np.abs(difference - observed) >= abs(observed))) / 31)
    shifted = SimpleNamespace(predictions=a.predictions, targets=[y[:10], y[10:] + 1], splits=splits)
    with pytest.raises(InvalidInputError, match="same splits and targets"):
        compare_scores({"a": a, "shifted": shifted})


def test_paired_comparison_holds_its_false_positive_rate_for_equally_good_features():
    rejected = 0
    with config_context(dtype="float64"):
        for i in range(200):
            rng = np.random.default_rng(1000 + i)
            latent, W = rng.normal(size=(300, 5)), rng.normal(size=(5, 8))
            Y = latent @ W + 2 * rng.normal(size=(300, 8))
            splits = resolve_splits(300, seed=i)
            results = {name: cross_validated_predictions(LinearRegression(), latent + rng.normal(size=(300, 5)), Y,
                                                         splits) for name in ("a", "b")}
            rejected += compare_scores(results, n_samples=500, seed=i).p_value[0] < 0.05
    assert rejected / 200 <= 0.08


def test_comparison_corrects_over_pairs_and_resamples_subjects():
    base = _tiny_cv(n=40, n_neuroids=6)
    results = {f"m{k}": SimpleNamespace(predictions=[p + k * np.random.default_rng(k).normal(size=p.shape)
                                                     for p in base.predictions],
                                        targets=base.targets, splits=base.splits) for k in range(3)}
    table = compare_scores(results, n_samples=200, correction="bonferroni", resample="subjects",
                           subjects=["a", "a", "b", "b", "c", "c"])
    np.testing.assert_allclose(table.p_adjusted, np.minimum(3 * table.p_value, 1))
    assert table[["model_a", "model_b"]].values.tolist() == [["m0", "m1"], ["m0", "m2"], ["m1", "m2"]]


def test_alpha_grid_warning_counts_neuroids_at_the_edge():
    brain = simulated_brain(n_stimuli=60, n_features=5, n_neuroids=4, snr=4.0)
    score = ridge_encoding(brain.features, brain.responses, alphas=[1e3, 1e4, 1e5])  # far too strong a penalty
    expected = float(np.mean(np.isclose(score.extra["best_alphas"], 1e3)))
    with pytest.warns(RuntimeWarning, match="edge of the alpha grid") as caught:
        assert check_alpha_grid(score) == pytest.approx(expected) == 1.0
    assert len(caught) == 1
    X = np.random.default_rng(0).normal(size=(40, 3))
    model = RidgeCV([1e-3, 1.0, 1e6], cv=4).fit(X, X @ np.ones((3, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_alpha_grid(model, max_share=1.0) == 1.0  # share reported, no warning at or under max_share


def test_reliability_noise_ceiling_and_above_ceiling_warnings():
    rng = np.random.default_rng(0)
    noise_only = make_responses(rng.normal(size=(50, 20, 2)), [f"s{i}" for i in range(50)],
                                dims=("stimulus", "neuroid", "repetition"))
    reliability = split_half_reliability(noise_only)
    with pytest.warns(RuntimeWarning, match="reliability <= 0") as caught:
        share = check_reliability(reliability)
    assert len(caught) == 1 and share == np.mean(reliability <= 0) and 0 < share < 1
    with pytest.warns(RuntimeWarning, match="not significantly above 0"):
        assert check_noise_ceiling(np.linspace(-0.1, 0.3, 99)) == pytest.approx(26 / 100)
    brain = simulated_brain(n_stimuli=200, n_features=5, n_neuroids=6, snr=4.0)
    score = ridge_encoding(brain.features, brain.responses, ceiling=brain.reliability / 2)  # ceiling too low
    with pytest.warns(RuntimeWarning, match="above its ceiling"):
        assert check_above_ceiling(score) == 1.0


def test_aggregation_hook_receives_samples_splits_neuroids():
    cv = _tiny_cv(n=30)
    result = bootstrap_encoding(cv, n_samples=25, aggregate=lambda r: r.mean(axis=(1, 2)), n_permutations=9, seed=1)
    draws = _loop_draws(cv, 25, 1)
    splits = list(zip(cv.predictions, cv.targets, draws, strict=True))
    expected = [np.mean([[stats.pearsonr(p[idx[b], j], y[idx[b], j])[0] for j in range(3)] for p, y, idx in splits])
                for b in range(25)]
    np.testing.assert_allclose(result.samples, expected, atol=1e-10)
    assert result.value == pytest.approx(cv.correlations().mean(), abs=1e-12)


def test_score_with_uncertainty_keeps_each_metrics_value():
    from brainalign.core.errors import UnknownNameError
    from brainalign.data.rdm import RDM
    from brainalign.metrics.registry import get_metric
    from brainalign.stats.bootstrap import bootstrap_rsa
    from brainalign.stats.uncertainty import score_with_uncertainty

    brain = simulated_brain(n_stimuli=60, n_features=4, n_neuroids=4, snr=2.0)
    for metric, options in (("ridge", {"alphas": [0.1, 10.0, 1e3]}), ("ols", {}), ("pls", {"n_components": 2}),
                            ("cka", {})):
        score = score_with_uncertainty(metric, brain.features, brain.responses, n_samples=100, n_permutations=19,
                                       **options)
        reference = get_metric(metric)(brain.features, brain.responses, **options)
        assert score.value == pytest.approx(reference.value, abs=1e-6), metric
        assert score.extra["ci_low"] < score.value < score.extra["ci_high"] and score.extra["p_value"] == 0.05
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(10)]
    truth = rng.random(45)
    data, model = RDM(truth + rng.normal(0, 0.3, (3, 45)), ids), RDM(truth[None], ids)
    score = score_with_uncertainty("rsa", model, data, n_samples=200, n_permutations=99)
    direct = bootstrap_rsa(model, data, n_samples=200, noise_ceiling=False)
    assert score.extra["ci_of"] == "raw" and score.extra["ci_low"] == pytest.approx(direct.ci_low[0])
    assert score.extra["ci_high"] == pytest.approx(direct.ci_high[0]) and score.extra["p_value"] == 0.01
    with pytest.raises(InvalidInputError, match="biased"):
        score_with_uncertainty("cka", brain.features, brain.responses, unbiased=True)
    with pytest.raises(UnknownNameError):
        score_with_uncertainty("rigde", brain.features, brain.responses)


def _time_resolved(brain, n_bins=3, seed=0):
    rng = np.random.default_rng(seed)
    averaged = brain.responses.mean("repetition") if "repetition" in brain.responses.dims else brain.responses
    values = np.stack([averaged.values + 0.5 * rng.normal(size=averaged.shape) for _ in range(n_bins)], -1)
    return make_responses(values, list(averaged.stimulus_id.values), dims=("stimulus", "neuroid", "time"))


NEW_METRICS = [("crossregressed-correlation", {"n_components": 3}), ("neuron-to-neuron", {}), ("reverse-ridge", {}),
               ("bidirectional-ridge", {}), ("stacked", {"block_sizes": [3, 3]}), ("versa", {}), ("one-to-one", {}),
               ("semi-matching", {}), ("soft-matching", {"epsilon": 0.1}), ("spantime-ridge", {}),
               ("spantime-pls", {"n_components": 3})]


def test_every_registered_metric_has_an_uncertainty():
    import inspect

    from brainalign.metrics.registry import get_metric, list_metrics
    from brainalign.stats.uncertainty import UNCERTAINTY

    def built_in(name: str) -> bool:  # other tests' plugins (tests/run_plugin.py) register metrics of their own
        function = inspect.unwrap(get_metric(name))
        return getattr(function, "func", function).__module__.startswith("brainalign.")

    metrics = {name for name in list_metrics() if built_in(name)}
    assert metrics <= set(UNCERTAINTY.names())
    assert {name for name, _ in NEW_METRICS} | {"ridge", "ols", "pls", "cka", "rsa"} == metrics


@pytest.mark.parametrize(("metric", "options"), NEW_METRICS, ids=[name for name, _ in NEW_METRICS])
def test_each_new_metric_keeps_its_value_and_its_ci_brackets_it(metric, options):
    from brainalign.metrics.registry import get_metric
    from brainalign.stats.uncertainty import score_with_uncertainty

    brain = simulated_brain(n_stimuli=60, n_features=6, n_neuroids=4, snr=2.0)
    target = _time_resolved(brain) if metric.startswith("spantime") else brain.responses
    score = score_with_uncertainty(metric, brain.features, target, n_samples=200, n_permutations=99, **options)
    reference = get_metric(metric)(brain.features, target, **options)
    assert score.value == pytest.approx(reference.value, abs=1e-9)
    assert score.extra["ci_low"] < score.value < score.extra["ci_high"]
    assert score.extra["p_value"] == 0.01  # a strong signal: no permutation reaches it
    assert score.extra["error_kind"].startswith("SEM over splits")
    assert score.extra["ci_resampled"].startswith("stimuli") or "test stimuli" in score.extra["ci_resampled"]


def test_spantime_resamples_whole_stimuli():
    """The time bins of a stimulus are drawn together: each split's row counts are constant within a stimulus."""
    from brainalign.metrics.encoding.bootstrap import grouped_counts

    groups = [np.repeat(np.arange(5), 3)]
    counts = grouped_counts(groups, 50, seed=0)[0]
    assert (counts.reshape(50, 5, 3) == counts.reshape(50, 5, 3)[:, :, :1]).all()
    assert (counts.reshape(50, 5, 3)[:, :, 0].sum(1) == 5).all()


def test_assigned_correlations_equal_a_loop_over_resamples(monkeypatch):
    from brainalign.stats import uncertainty
    from brainalign.stats.uncertainty import assigned_correlations

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(15, 4)), rng.normal(size=(15, 3))
    x[:, 3] = 1.0  # a constant unit correlates 0
    weights = rng.random((4, 3))
    draws = rng.integers(0, 15, (20, 15))
    counts = np.stack([np.bincount(d, minlength=15) for d in draws]).astype(float)
    expected = [[sum(weights[u, j] * (stats.pearsonr(x[d, u], y[d, j])[0] if u < 3 else 0.0) for u in range(4))
                 for j in range(3)] for d in draws]
    np.testing.assert_allclose(assigned_correlations(weights, x, y, counts), expected, atol=1e-10)
    monkeypatch.setattr(uncertainty, "rows_per_block", lambda *args, **kwargs: 1)  # one unit per block
    np.testing.assert_allclose(assigned_correlations(weights, x, y, counts), expected, atol=1e-10)


def test_semi_matching_ci_covers_the_population_correlation_at_the_nominal_rate():
    """Each neuroid copies one unit with noise: the population r of the matched pair is 1/√(1 + σ²)."""
    from brainalign.stats.uncertainty import score_with_uncertainty

    covered, n_sims, sigma = 0, 150, 1.0
    truth = 1 / np.sqrt(1 + sigma**2)
    ids = [f"s{i}" for i in range(100)]
    for i in range(n_sims):
        rng = np.random.default_rng(i)
        x = rng.normal(size=(100, 6))
        y = x[:, :3] + sigma * rng.normal(size=(100, 3))
        score = score_with_uncertainty("semi-matching", make_features(x, ids), make_responses(y, ids),
                                       n_samples=500, n_permutations=9, seed=i)
        covered += score.extra["ci_low"] <= truth <= score.extra["ci_high"]
    assert 0.89 <= covered / n_sims <= 0.99


def test_undefined_scores_have_no_interval():
    from brainalign.stats.uncertainty import score_with_uncertainty

    ids = [f"s{i}" for i in range(20)]
    constant = make_features(np.ones((20, 3)), ids)
    responses = make_responses(np.random.default_rng(0).normal(size=(20, 2)), ids)
    for metric in ("versa", "semi-matching"):
        with pytest.warns(RuntimeWarning), pytest.raises(InvalidInputError, match="undefined"):
            score_with_uncertainty(metric, constant, responses, n_samples=10, n_permutations=9)
