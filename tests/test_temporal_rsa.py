"""Temporal and cross-temporal RSA on simulated recordings whose information sits in known time windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, STIMULUS, TIME, make_responses
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.metrics.similarity.temporal_rsa import cross_temporal_rsa, temporal_rsa

N_STIMULI, N_CHANNELS, TIMES = 20, 32, np.arange(-100, 400, 10)  # 50 time points, in ms


def recording(latent, window, seed):
    """Channels × time noise; inside ``window`` (ms) the channels mix the latent stimulus features."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(N_STIMULI, N_CHANNELS, len(TIMES)))
    inside = (window[0] <= TIMES) & (window[1] > TIMES)
    values[:, :, inside] += (latent @ rng.normal(size=(latent.shape[1], N_CHANNELS)))[:, :, None]
    responses = make_responses(values, [f"s{i}" for i in range(N_STIMULI)], dims=(STIMULUS, NEUROID, TIME))
    return responses.assign_coords({TIME: TIMES}), inside


@pytest.fixture(scope="module")
def latent():
    return np.random.default_rng(0).normal(size=(N_STIMULI, 5))


@pytest.fixture(scope="module")
def model(latent):
    return RDM(pdist(latent, "correlation"), [f"s{i}" for i in range(N_STIMULI)], "correlation")


def test_time_course_rises_in_the_informative_window(latent, model):
    responses, inside = recording(latent, (100, 200), seed=1)
    with config_context(dtype="float64"):
        course = temporal_rsa(compute_rdm(responses), model)
    assert course.dims == (TIME,) and course[TIME].values.tolist() == TIMES.tolist()
    assert 100 <= int(course.idxmax()) < 200
    assert float(course[inside].mean()) > 0.5 and float(np.abs(course[~inside]).mean()) < 0.1
    for t in (5, 25):  # one time point outside, one inside the window: scipy on identical inputs
        expected = spearmanr(pdist(responses.values[:, :, t], "correlation"), model.condensed[0])[0]
        assert float(course[t]) == pytest.approx(expected, abs=1e-10)


def test_one_time_course_per_subject(latent, model):
    stacks = []
    for subject, window in (("sub-1", (0, 100)), ("sub-2", (200, 300))):
        rdms = compute_rdm(recording(latent, window, seed=len(stacks) + 2)[0])
        rdms.descriptors.insert(0, "subject", subject)
        stacks.append(rdms)
    both = RDM(np.vstack([s.condensed for s in stacks]), stacks[0].stimulus_ids, "correlation",
               pd.concat([s.descriptors for s in stacks]))
    courses = temporal_rsa(both, model)
    assert courses.dims == ("subject", TIME) and courses.shape == (2, len(TIMES))
    peaks = courses.idxmax(TIME).values.tolist()
    assert 0 <= peaks[0] < 100 and 200 <= peaks[1] < 300


def test_cross_temporal_matrix_is_high_only_between_the_two_windows(latent):
    a, inside_a = recording(latent, (0, 100), seed=4)
    b, inside_b = recording(latent, (150, 250), seed=5)
    with config_context(dtype="float64"):
        rdms_a, rdms_b = compute_rdm(a), compute_rdm(b)
        matrix = cross_temporal_rsa(rdms_a, rdms_b)
    assert matrix.dims == ("time_a", "time_b") and matrix.shape == (len(TIMES), len(TIMES))
    block = matrix.values[np.ix_(inside_a, inside_b)]
    rest = matrix.values[~np.outer(inside_a, inside_b)]
    assert block.mean() > 0.5 and np.abs(rest).mean() < 0.1
    expected = spearmanr(rdms_a.condensed[12], rdms_b.condensed[22])[0]
    assert float(matrix.sel(time_a=TIMES[12], time_b=TIMES[22])) == pytest.approx(expected, abs=1e-10)


def test_errors_name_the_bad_value(model):
    with pytest.raises(InvalidInputError, match="'time' descriptor"):
        temporal_rsa(model, model)
    timed = RDM(np.vstack([model.condensed] * 2), model.stimulus_ids,
                descriptors=pd.DataFrame({"time": [0, 0], "subject": ["a", "b"]}))
    with pytest.raises(InvalidInputError, match="one RDM per time point"):
        cross_temporal_rsa(timed, timed)
    with pytest.raises(InvalidInputError, match="one model RDM"):
        temporal_rsa(timed, timed)
