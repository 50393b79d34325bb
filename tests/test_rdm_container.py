"""The `RDM` container: read-only values with ranks kept on the object, equality, repr, save / load."""

import numpy as np
import pandas as pd
import pytest
from rsatoolbox.rdm import RDMs
from scipy import stats

from brainalign.core.errors import InvalidInputError
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.rdm_comparison import compare_rdms

RNG = np.random.default_rng(7)
IDS = [f"s{i}" for i in range(10)]
P = 45


def test_values_are_a_read_only_copy():
    buffer = RNG.random((1, P))
    rdm = RDM(buffer, IDS)
    buffer[0, 0] = 99.0
    assert rdm.condensed[0, 0] != 99.0
    with pytest.raises(ValueError, match="read-only"):
        rdm.condensed[0, 0] = 99.0


def test_reused_buffer_gives_the_new_spearman():
    """Ranks were cached by id(array): an RDM built again on an edited buffer got the old ranks."""
    models = RDM(RNG.random((3, P)), IDS)
    buffer = RNG.random((1, P))
    first = compare_rdms(models, RDM(buffer, IDS), "spearman")
    buffer[0] = RNG.random(P)  # edited in place, then wrapped again
    second = compare_rdms(models, RDM(buffer, IDS), "spearman")
    expected = [stats.spearmanr(m, buffer[0])[0] for m in models.condensed]
    np.testing.assert_allclose(second[:, 0], expected, atol=1e-6)
    assert not np.allclose(first, second)


def test_equality_compares_values_distance_ids_and_descriptors():
    values = RNG.random((2, P))
    subjects = pd.DataFrame({"subject": ["a", "b"]})
    rdm = RDM(values, IDS, "correlation", subjects)
    assert rdm == RDM(values.copy(), IDS, "correlation", subjects.copy())
    assert rdm != RDM(values + 1e-9, IDS, "correlation", subjects)
    assert rdm != RDM(values, IDS[::-1], "correlation", subjects)
    assert rdm != RDM(values, IDS, "euclidean", subjects)
    assert rdm != RDM(values, IDS, "correlation", pd.DataFrame({"subject": ["a", "c"]}))
    assert rdm != "an RDM"
    assert repr(rdm) == "RDM(2 RDMs × 10 stimuli, distance='correlation', descriptors=['subject'])"


def test_save_load_round_trip_without_pickle(tmp_path):
    descriptors = pd.DataFrame({"subject": ["a", "b", "c"], "session": np.array([1, 2, 1]), "weight": [0.5, 1.0, 2.0]})
    rdm = RDM(RNG.random((3, P)).astype(np.float32), IDS, "correlation", descriptors)
    rdm.save(tmp_path / "rdm.npz")
    loaded = RDM.load(tmp_path / "rdm.npz")
    assert loaded == rdm and loaded.condensed.dtype == np.float32
    assert loaded.descriptors.dtypes.tolist() == descriptors.dtypes.tolist()
    with np.load(tmp_path / "rdm.npz", allow_pickle=False) as stored:  # readable with pickle refused
        assert sorted(stored.files) == ["condensed", "meta"]
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(InvalidInputError, match="not an RDM file"):
        RDM.load(tmp_path / "other.npz")


def test_rsatoolbox_round_trip_keeps_equality():
    rdm = RDM(RNG.random((2, P)), IDS, "correlation", pd.DataFrame({"subject": ["a", "b"]}))
    converted = rdm.to_rsatoolbox()
    assert isinstance(converted, RDMs)
    np.testing.assert_array_equal(converted.get_vectors(), rdm.condensed)
    assert RDM.from_rsatoolbox(converted) == rdm


def test_subject_means_average_sessions():
    values = RNG.random((4, P))
    sessions = RDM(values, IDS, descriptors=pd.DataFrame({"subject": ["a", "a", "b", "b"], "session": [1, 2, 1, 2]}))
    means = sessions.subject_means()
    np.testing.assert_allclose(means.condensed, [values[:2].mean(0), values[2:].mean(0)])
    assert means.descriptors["subject"].tolist() == ["a", "b"]
    plain = RDM(values, IDS)
    assert plain.subject_means() is plain


def test_duplicate_ids_are_named():
    with pytest.raises(InvalidInputError, match=r"repeated: \['s1'\]"):
        RDM(RNG.random((1, P)), IDS[:9] + ["s1"])
