"""`load_object_npy`: ``numpy.save`` files of dicts read as NumPy reads them, and code-running objects refused."""

import os

import numpy as np
import pytest

from brainalign.core.errors import InvalidInputError
from brainalign.data.array_pickle import UnsafePickleError, load_object_npy


class _RunsACommand:
    def __reduce__(self):
        return os.system, ("touch pwned",)


def test_a_saved_dict_reads_as_numpy_reads_it(tmp_path):
    rng = np.random.default_rng(0)
    content = {"preprocessed_eeg_data": rng.normal(size=(4, 2, 3, 5)).astype(np.float32),
               "ch_names": ["O1", "Oz"], "times": np.linspace(-0.2, 0.8, 5)}
    np.save(tmp_path / "d.npy", content)
    ours, numpys = load_object_npy(tmp_path / "d.npy"), np.load(tmp_path / "d.npy", allow_pickle=True).item()
    assert sorted(ours) == sorted(numpys) and ours["ch_names"] == ["O1", "Oz"]
    for key in ("preprocessed_eeg_data", "times"):
        np.testing.assert_array_equal(ours[key], numpys[key])
        assert ours[key].dtype == numpys[key].dtype
    np.save(tmp_path / "plain.npy", np.arange(6).reshape(2, 3))  # no objects: read without any unpickling
    np.testing.assert_array_equal(load_object_npy(tmp_path / "plain.npy"), np.arange(6).reshape(2, 3))


def test_objects_that_run_code_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "attack.npy", np.array([_RunsACommand()], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafePickleError, match=r"attack.npy asks to load (posix|os)\.system"):
        load_object_npy(tmp_path / "attack.npy")
    assert not (tmp_path / "pwned").exists()
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    with pytest.raises(InvalidInputError, match="junk.npy is not a .npy file"):
        load_object_npy(tmp_path / "junk.npy")
