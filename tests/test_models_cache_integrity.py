"""Feature-cache integrity: damaged / truncated / unfinished files are detected and recomputed, write errors
(disk full) never leave a file under the final name, concurrent writers of one key share one result, and a
writer killed with SIGKILL is resumed. Real files and real processes throughout."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from brainalign.core.storage import StorageError
from brainalign.models.feature_cache import FeatureCache
from brainalign.models.feature_store import FeatureStore, partial_path

IDS = [f"s{i}" for i in range(12)]
VALUES = (np.arange(12 * 5, dtype=np.float32).reshape(12, 5) + 0.25) * 1.5  # what every writer here computes


def _saved(tmp_path, key="k"):
    cache = FeatureCache(tmp_path / "cache")
    cache.save(key, VALUES, IDS, model="m", layer="l")
    return cache, cache.path(key)


def test_truncated_cache_file_is_named_deleted_and_recomputed(tmp_path):
    cache, path = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.warns(UserWarning, match=f"{path}.*damaged or truncated.*Deleting it; it will be recomputed"):
        assert cache.open("k") is None
    assert not path.exists()
    cache.save("k", VALUES, IDS)
    np.testing.assert_array_equal(cache.load("k"), VALUES)


def test_flipped_byte_in_a_chunk_is_caught_by_the_checksum(tmp_path):
    cache, path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    offset = data.find(VALUES[7].tobytes())  # the raw float32 bytes of row 7 (no compression)
    assert offset > 0
    data[offset + 2] ^= 0x40  # same size: only a checksum can tell
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="damaged or truncated"):
        assert cache.open("k") is None
    assert not path.exists()


def test_unfinished_file_under_the_final_name_is_not_trusted(tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    writer = cache.writer("k", IDS, chunk_rows=4)
    writer.write(0, VALUES[:4])
    writer.commit(4)
    writer.close()
    os.replace(partial_path(cache.path("k")), cache.path("k"))  # e.g. copied by hand or by an older tool
    with pytest.warns(UserWarning, match="no completeness marker"):
        assert cache.open("k") is None


def test_truncated_store_opened_directly_names_the_file_and_the_remedy(tmp_path):
    _, path = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(StorageError, match=f"{path}.*Delete {path} and run again"):
        _ = FeatureStore(path).values


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_while_writing_aborts_and_never_renames_the_partial_file(tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    monkeypatch.setattr(h5py.Dataset, "__setitem__", _enospc)
    with pytest.raises(StorageError, match=f"write the feature file {partial_path(cache.path('k'))}: "
                                           r".*No space left on device.*free disk space"):
        cache.save("k", VALUES, IDS)
    assert not cache.path("k").exists() and cache.open("k") is None
    monkeypatch.undo()
    cache.save("k", VALUES, IDS)  # the lock was released: the next attempt runs and succeeds
    np.testing.assert_array_equal(cache.load("k"), VALUES)


def test_disk_full_while_finishing_keeps_the_partial_file_and_no_final_file(tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    writer = cache.writer("k", IDS, chunk_rows=6)
    writer.write(0, VALUES[:6])
    writer.commit(6)
    writer.write(6, VALUES[6:])
    writer.commit(12)
    monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(StorageError, match="No space left on device"):
        writer.finish()
    assert not cache.path("k").exists() and partial_path(cache.path("k")).is_file()


def test_unwritable_cache_folder_names_the_path_and_what_to_do(tmp_path):
    (tmp_path / "not_a_folder").write_text("a file where the cache folder should be")
    cache = FeatureCache(tmp_path / "not_a_folder" / "features")
    with pytest.raises(StorageError, match=f"cache folder {cache.directory}.*writable folder"):
        cache.save("k", VALUES, IDS)


WRITER_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from brainalign.models.feature_cache import FeatureCache

    directory, go, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    ids = [f"s{i}" for i in range(12)]
    values = (np.arange(12 * 5, dtype=np.float32).reshape(12, 5) + 0.25) * 1.5
    while not os.path.exists(go):
        time.sleep(0.01)
    writer = FeatureCache(directory).writer("k", ids, chunk_rows=2, layer="l")
    computed = 0
    for start in range(writer.rows_done, 12, 2):
        if mode == "kill" and start == 6:
            writer.write(start, values[start:start + 2] * 0)  # half-written batch, never committed
            os.kill(os.getpid(), 9)
        time.sleep(0.05)  # a slow model: gives the other process time to collide
        writer.write(start, values[start:start + 2])
        writer.commit(start + 2)
        computed += 1
    writer.finish()
    print("batches", computed)
""")


def _start(tmp_path, mode, env):
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "cache"), str(tmp_path / "go"), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("hdf5_locking", [None, "FALSE"])
def test_two_processes_writing_one_key_share_one_result(tmp_path, hdf5_locking):
    env = dict(os.environ)
    if hdf5_locking is not None:
        env["HDF5_USE_FILE_LOCKING"] = hdf5_locking
    processes = [_start(tmp_path, "normal", env) for _ in range(2)]
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    batches = sorted(int(out.split()[-1]) for out, _ in outputs)
    assert batches == [0, 6]  # one computed every batch, the other waited and reused its file
    cache = FeatureCache(tmp_path / "cache")
    np.testing.assert_array_equal(cache.load("k"), VALUES)
    assert not partial_path(cache.path("k")).exists()


def test_writer_killed_mid_write_is_resumed_from_its_last_commit(tmp_path):
    (tmp_path / "go").touch()
    killed = _start(tmp_path, "kill", dict(os.environ))
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    cache = FeatureCache(tmp_path / "cache")
    assert cache.open("k") is None and partial_path(cache.path("k")).is_file()
    resumed = _start(tmp_path, "normal", dict(os.environ))  # the dead process's lock is gone with it
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert out.split() == ["batches", "3"]  # rows 0-5 were committed; only 6-11 are recomputed
    np.testing.assert_array_equal(cache.load("k"), VALUES)


def test_truncated_fitted_projection_is_named_deleted_and_refitted(tmp_path):
    from sklearn.decomposition import PCA

    from brainalign.models.projection import load_fitted, save_fitted

    pca = PCA(n_components=2).fit(VALUES)
    save_fitted(tmp_path, "p", pca)
    np.testing.assert_array_equal(load_fitted(tmp_path, "p").components_, pca.components_)
    path = tmp_path / "p.pkl"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.warns(UserWarning, match=f"{path} is damaged or truncated"):
        assert load_fitted(tmp_path, "p") is None
    assert not path.exists()
