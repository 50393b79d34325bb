"""Labelled inputs: ids must be unique, layouts labelled, and mismatches named, never silently reordered."""

import numpy as np
import pytest
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import align, make_features, make_responses, stimulus_ids
from brainalign.metrics.similarity.cka import cka_metric
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.metrics.similarity.rsa import rsa

RNG = np.random.default_rng(11)
IDS = [f"img{i}" for i in range(8)]
FEATURES = make_features(RNG.normal(size=(8, 5)), IDS)
RESPONSES = make_responses(RNG.normal(size=(8, 3)), IDS)


def _with_duplicates():
    """Features whose ids repeat (built by hand, as make_features refuses them)."""
    ids = IDS[:6] + ["img0", "img1"]
    return xr.DataArray(RNG.normal(size=(8, 5)), dims=("stimulus", "unit"), coords={"stimulus_id": ("stimulus", ids)})


def test_duplicated_ids_are_named_not_mispaired():
    with pytest.raises(InvalidInputError, match=r"2 appear more than once \(e.g. \['img0', 'img1'\]\)"):
        align(_with_duplicates(), RESPONSES)
    with pytest.raises(InvalidInputError, match="img0"):
        cka_metric(_with_duplicates(), RESPONSES)


@pytest.mark.parametrize("bad", [RNG.normal(size=(8, 5)),
                                 xr.DataArray(RNG.normal(size=(8, 5)), dims=("image", "unit"))])
def test_unlabelled_inputs_say_how_to_label_them(bad):
    with pytest.raises(InvalidInputError, match=r"make_features\(X, ids\) or make_responses\(Y, ids\)"):
        cka_metric(bad, RESPONSES)
    with pytest.raises(InvalidInputError, match="expected a labelled xarray.DataArray"):
        rsa(bad, compute_rdm(FEATURES))


def test_empty_input_is_an_error():
    with pytest.raises(InvalidInputError, match="no stimuli"):
        stimulus_ids(FEATURES.isel(stimulus=[]), "features")


def test_different_ids_name_counts_and_examples():
    other = make_responses(RNG.normal(size=(8, 3)), IDS[:6] + ["x1", "x2"])
    with pytest.raises(InvalidInputError, match=r"2 target ids missing from source \(e.g. \['x1', 'x2'\]\)"):
        align(FEATURES, other)


def test_same_ids_in_another_order_are_aligned():
    shuffled = make_responses(RESPONSES.values[::-1], IDS[::-1])
    source, target = align(FEATURES, shuffled)
    np.testing.assert_array_equal(source.values, FEATURES.values[::-1])
    assert stimulus_ids(source) == stimulus_ids(target) == IDS[::-1]
