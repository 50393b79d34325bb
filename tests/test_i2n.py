"""I2n: each step against a direct numpy/scipy implementation of the published formula on generated trials, the
Brain-Score halves (RandomState(0)), a ground-truth model that reproduces one half of the human trials (scores exactly
the ceiling), a random model (near 0), and a miniature Brain-Score assembly file read back."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.metrics.behaviour.formats import read_brainscore_trials
from brainalign.metrics.behaviour.i2n import consistency, i2n, normalized_dprimes, response_matrix, trial_halves

OBJECTS = ["bear", "car", "dog", "elephant"]


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    """3 images per object, every distractor 16 times; P(error) per (image, distractor) drawn in [0.05, 0.45]."""
    rng = np.random.default_rng(0)
    rows = []
    for truth, image in itertools.product(OBJECTS, range(3)):
        for distractor in (o for o in OBJECTS if o != truth):
            error = rng.uniform(0.05, 0.45)
            for _ in range(16):
                rows.append((f"{truth}{image}", truth, distractor, distractor if rng.random() < error else truth))
    return pd.DataFrame(rows, columns=["stimulus_id", "truth", "distractor", "choice"]).sample(frac=1, random_state=1)


def direct_dprimes(trials: pd.DataFrame, cap: float = 5.0) -> dict[tuple[str, str], float]:
    """The formula, loop by loop: rate, hit = 1 - rate, false alarm = mean over the distractor's images of their rate
    of choosing the truth, clipped z difference, minus the mean over the truth object's images."""
    truth = dict(zip(trials["stimulus_id"], trials["truth"], strict=False))
    rate = {}
    for (image, distractor), t in trials.groupby(["stimulus_id", "distractor"]):
        rate[image, distractor] = float(np.mean(t["choice"] == distractor))
    raw = {}
    for (image, distractor), r in rate.items():
        fa = np.mean([rate[j, truth[image]] for j in truth if truth[j] == distractor and (j, truth[image]) in rate])
        raw[image, distractor] = float(np.clip(scipy.stats.norm.ppf(1 - r) - scipy.stats.norm.ppf(fa), -cap, cap))
    result = {}
    for (image, distractor), d in raw.items():
        same = [raw[j, distractor] for j in truth if truth[j] == truth[image] and (j, distractor) in raw]
        result[image, distractor] = d - float(np.mean(same))
    return result


def test_dprimes_equal_the_direct_formula(trials):
    dprimes = normalized_dprimes(response_matrix(trials))
    expected = direct_dprimes(trials)
    assert len(expected) == 12 * 3
    for (image, distractor), value in expected.items():
        assert dprimes.loc[image, distractor] == pytest.approx(value, abs=1e-12)
    assert dprimes[OBJECTS].notna().sum().sum() == len(expected)  # NaN exactly at the truth column


def test_score_and_ceiling_use_brainscore_halves_and_pearson_r(trials):
    probabilities = pd.DataFrame(np.random.default_rng(2).dirichlet(np.ones(4), size=12), columns=OBJECTS,
                                 index=sorted(trials["stimulus_id"].unique()))
    score = i2n(probabilities, trials, repetitions=2)
    state_score, state_ceiling = np.random.RandomState(0), np.random.RandomState(0)
    truth = trials.drop_duplicates("stimulus_id").set_index("stimulus_id")["truth"].sort_index()
    p = probabilities.loc[truth.index].to_numpy()
    p_truth = p[np.arange(len(p)), [OBJECTS.index(t) for t in truth]]
    model_rates = pd.DataFrame(p / (p + p_truth[:, None]), index=truth.index, columns=OBJECTS)
    model_rates = model_rates.mask(truth.to_numpy()[:, None] == np.array(OBJECTS)[None, :]).assign(truth=truth)
    model = normalized_dprimes(model_rates)
    model_r, ceiling_r = [], []
    for _ in range(2):
        indices = list(range(len(trials)))
        state_score.shuffle(indices)
        first = normalized_dprimes(response_matrix(trials.iloc[indices[:len(indices) // 2]], OBJECTS))
        flat = np.isfinite(first[OBJECTS].to_numpy().ravel())
        model_r.append(scipy.stats.pearsonr(model[OBJECTS].to_numpy().ravel()[flat],
                                            first[OBJECTS].to_numpy().ravel()[flat]).statistic)
        a, b = (normalized_dprimes(response_matrix(h, OBJECTS)) for h in trial_halves(trials, state_ceiling))
        both = np.isfinite(a[OBJECTS].to_numpy().ravel()) & np.isfinite(b[OBJECTS].to_numpy().ravel())
        ceiling_r.append(scipy.stats.pearsonr(a[OBJECTS].to_numpy().ravel()[both],
                                              b[OBJECTS].to_numpy().ravel()[both]).statistic)
    assert score.raw == pytest.approx(np.mean(model_r), abs=1e-12)
    assert score.ceiling == pytest.approx(np.mean(ceiling_r), abs=1e-12)
    assert score.value == pytest.approx(score.raw / score.ceiling)
    assert abs(score.raw) < 0.35 and 0.3 < score.ceiling < 1  # a random model is near 0, humans agree


def test_a_model_reproducing_one_half_scores_exactly_the_ceiling(trials):
    state = np.random.RandomState(0)
    second = trial_halves(trials, state)[1]
    rates = response_matrix(second, OBJECTS)
    assert rates[OBJECTS].notna().sum().sum() == 36 and (rates[OBJECTS].fillna(0) < 1).all().all()
    # p_truth = 1 and p_c = rate / (1 - rate) give p_c / (p_c + p_truth) = rate
    odds = rates[OBJECTS] / (1 - rates[OBJECTS])
    probabilities = odds.fillna(1.0)
    probabilities = probabilities.div(probabilities.sum(axis=1), axis=0)
    score = i2n(probabilities, trials, repetitions=1)
    assert score.raw == pytest.approx(score.ceiling, abs=1e-9) and score.value == pytest.approx(1.0, abs=1e-9)


def test_consistency_rejects_source_nan_where_the_target_has_values(trials):
    d = normalized_dprimes(response_matrix(trials))
    broken = d.copy()
    broken.iloc[0, 1 if pd.isna(d.iloc[0, 0]) else 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        consistency(broken, d)
    assert consistency(broken, d, skipna=True) == pytest.approx(1.0)  # the other entries are identical


def test_bad_inputs_are_named(trials):
    with pytest.raises(InvalidInputError, match="neither the truth nor the distractor"):
        response_matrix(trials.assign(choice="zebra"))
    with pytest.raises(InvalidInputError, match="lack columns"):
        response_matrix(trials.drop(columns="distractor"))
    probabilities = pd.DataFrame(0.25, index=sorted(trials["stimulus_id"].unique()), columns=OBJECTS[:3] + ["cat"])
    with pytest.raises(InvalidInputError, match=r"no probability for objects \['elephant'\].*bear, car, dog, elephant"):
        i2n(probabilities, trials)
    with pytest.raises(InvalidInputError, match="no model probabilities for 3 images"):
        i2n(pd.DataFrame(0.25, index=sorted(trials["stimulus_id"].unique())[3:], columns=OBJECTS), trials)


def test_brainscore_assembly_file_is_read_as_trials(trials, tmp_path):
    """A miniature in the format of Brain-Score's Rajalingham2018 assembly (netCDF-4, choices along presentation)."""
    assembly = xr.DataArray(trials["choice"].to_numpy().astype(str), dims=["presentation"], coords={
        "image_id": ("presentation", trials["stimulus_id"].to_numpy().astype(str)),
        "sample_obj": ("presentation", trials["truth"].to_numpy().astype(str)),
        "dist_obj": ("presentation", trials["distractor"].to_numpy().astype(str)),
        "worker_id": ("presentation", np.arange(len(trials)) % 5)}, name="dicarlo.Rajalingham2018.public")
    path = tmp_path / "assy_dicarlo_Rajalingham2018_public.nc"
    assembly.to_netcdf(path, engine="h5netcdf")
    read = read_brainscore_trials(path)
    pd.testing.assert_frame_equal(read[["stimulus_id", "truth", "distractor", "choice"]],
                                  trials.reset_index(drop=True), check_dtype=False)
    assert read["worker_id"].tolist() == list(np.arange(len(trials)) % 5)
    assembly.drop_vars("dist_obj").to_netcdf(tmp_path / "bad.nc", engine="h5netcdf")
    with pytest.raises(InvalidInputError, match="lacks a distractor coordinate"):
        read_brainscore_trials(tmp_path / "bad.nc")
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_brainscore_trials(tmp_path / "missing.nc")
