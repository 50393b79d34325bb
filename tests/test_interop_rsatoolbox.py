"""rsatoolbox ↔ brainalign round trips, and the same RDMs computed by rsatoolbox and by brainalign."""

import numpy as np
import pandas as pd
import pytest

from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, make_responses
from brainalign.data.interop.rsatoolbox import (
    from_rsatoolbox_dataset,
    from_rsatoolbox_rdms,
    to_rsatoolbox_dataset,
    to_rsatoolbox_rdms,
)
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.rdms import compute_rdm

rsatoolbox = pytest.importorskip("rsatoolbox")
IDS = [f"s{i}" for i in range(6)]


def test_rdms_round_trip_keeps_values_ids_and_descriptors():
    rng = np.random.default_rng(0)
    rdm = RDM(rng.random((3, 15)), IDS, distance="correlation",
              descriptors=pd.DataFrame({"subject": ["a", "b", "c"], "session": [1, 1, 2]}))
    theirs = to_rsatoolbox_rdms(rdm)
    np.testing.assert_array_equal(theirs.get_matrices(), rdm.square())
    assert theirs.dissimilarity_measure == "correlation" and list(theirs.rdm_descriptors["subject"]) == ["a", "b", "c"]
    back = from_rsatoolbox_rdms(theirs)
    assert back == rdm and back.descriptors["session"].tolist() == [1, 1, 2]


def test_dataset_rdm_matches_rsatoolbox_calc_rdm():
    from rsatoolbox.rdm import calc_rdm

    values = np.random.default_rng(1).normal(size=(6, 9))
    responses = make_responses(values, IDS, neuroid_coords={"region": ["IT"] * 9})
    theirs = calc_rdm(to_rsatoolbox_dataset(responses), method="correlation", descriptor="stimulus_id")
    np.testing.assert_allclose(from_rsatoolbox_rdms(theirs).condensed, compute_rdm(responses).condensed, atol=1e-5)


def test_dataset_round_trip_with_nan_padded_repetitions():
    values = np.random.default_rng(2).normal(size=(6, 4, 3))
    values[1, :, 2] = np.nan  # stimulus s1 was shown twice only
    responses = make_responses(values, IDS, dims=(STIMULUS, NEUROID, REPETITION),
                               neuroid_coords={"subject": ["x", "x", "y", "y"]})
    dataset = to_rsatoolbox_dataset(responses)
    assert dataset.n_obs == 17 and list(dataset.channel_descriptors["subject"]) == ["x", "x", "y", "y"]
    back = from_rsatoolbox_dataset(dataset)
    np.testing.assert_array_equal(back.values, values)  # NaN where NaN
    assert list(back["stimulus_id"].values) == IDS and list(back["subject"].values) == ["x", "x", "y", "y"]
