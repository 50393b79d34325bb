"""The test caches (tests/conftest.py): persistent and keyed by the feature code, private on request, pruned."""

import os
import time
from pathlib import Path

import numpy as np

from brainalign.core.config import cache_dir
from brainalign.models.feature_cache import FeatureCache
from conftest import KEEP_VERSIONS, PACKAGE, cache_root, code_hash, persistent_cache


def _package(root: Path, source: str) -> Path:
    for folder in ("models", "data", "core"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "__init__.py").write_text("")
    (root / "models" / "extractor.py").write_text(source)
    return root


def test_session_cache_is_the_persistent_folder_of_this_code(request):
    expected = cache_root() / code_hash(PACKAGE)
    if request.config.getoption("--private-cache"):
        assert not cache_dir().is_relative_to(cache_root())
    else:
        assert cache_dir() == expected and expected.is_dir()


def test_private_cache_starts_empty_and_receives_the_features(private_cache):
    assert list(private_cache.iterdir()) == []
    cache = FeatureCache()
    assert cache.directory == private_cache / "features" == cache_dir("features")
    values = np.arange(6, dtype="float32").reshape(2, 3)
    cache.save("k", values, ["a", "b"], model="m", layer="l")
    assert cache.path("k").parent == private_cache / "features"
    np.testing.assert_array_equal(FeatureCache().load("k"), values)


def test_code_hash_follows_the_feature_code_only(tmp_path):
    package = _package(tmp_path / "brainalign", "A = 1\n")
    before = code_hash(package)
    (package / "models" / "__pycache__").mkdir()
    (package / "models" / "__pycache__" / "extractor.pyc").write_bytes(b"\x00compiled")
    (package / "cli.py").write_text("print('not feature code')\n")
    assert code_hash(package) == before
    (package / "models" / "extractor.py").write_text("A = 2\n")
    changed = code_hash(package)
    assert changed != before and len(changed) == 16
    (package / "models" / "extractor.py").write_text("A = 1\n")
    assert code_hash(package) == before


def test_persistent_cache_keeps_the_newest_code_versions(tmp_path):
    root = tmp_path / "test-cache"
    old = []
    for i in range(KEEP_VERSIONS + 1):
        folder = root / f"old{i}"
        folder.mkdir(parents=True)
        os.utime(folder, (time.time() - 100 + i, time.time() - 100 + i))
        old.append(folder)
    package = _package(tmp_path / "brainalign", "A = 1\n")
    current = persistent_cache(root, package)
    assert current == root / code_hash(package)
    kept = sorted(p.name for p in root.iterdir())
    assert kept == sorted([current.name] + [p.name for p in old[-(KEEP_VERSIONS - 1):]])
    assert persistent_cache(root, package) == current  # a second session reuses the folder
