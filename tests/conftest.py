"""Shared fixtures: the real data in ../shared/data (skipped with a reason when absent) and the test caches.

Model features and fetched data go to a persistent cache, so a second ``make test`` reads features instead of
running the networks again. Feature files are keyed by a content hash of everything that changes them (model,
weights checksum, layer, preprocessing, stimulus fingerprint, torch version); the folder is further keyed by a
hash of the code that produces them (``models/``, ``data/``, ``core/``), so editing the extraction code starts an
empty cache instead of serving features from the old code. Location: ``$BRAINALIGN_TEST_CACHE`` or
``.cache/test-features`` in the checkout (git-ignored). ``pytest --private-cache`` gives the session an empty
private cache instead. Tests of caching itself take the ``private_cache`` fixture (an empty folder per test).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
PACKAGE = CHECKOUT / "src" / "brainalign"
SHARED_DATA = Path(os.environ.get("BRAINALIGN_TEST_DATA") or CHECKOUT / ".." / "shared" / "data").resolve()
if SHARED_DATA.is_dir():
    os.environ.setdefault("BRAINALIGN_MIRROR", str(SHARED_DATA))
FEATURE_CODE = ("models", "data", "core")  # packages whose code decides what a cached feature file holds
KEEP_VERSIONS = 3  # cache folders of older code versions beyond these are deleted


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--private-cache", action="store_true",
                     help="start from an empty private brainalign cache instead of the persistent test cache")


def code_hash(package: Path = PACKAGE) -> str:
    """SHA-256 (16 hex digits) of the sources in ``package`` that produce cached features and data."""
    digest = hashlib.sha256()
    for path in sorted(p for folder in FEATURE_CODE for p in (package / folder).rglob("*") if p.is_file()
                       and p.suffix in {".py", ".toml", ".json"}):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    """Where the persistent test caches live: ``$BRAINALIGN_TEST_CACHE`` or ``.cache/test-features``."""
    return Path(os.environ.get("BRAINALIGN_TEST_CACHE") or CHECKOUT / ".cache" / "test-features").expanduser()


def persistent_cache(root: Path, package: Path = PACKAGE) -> Path:
    """The cache folder for the current code under ``root``; folders of older code beyond KEEP_VERSIONS go."""
    current = root / code_hash(package)
    current.mkdir(parents=True, exist_ok=True)
    current.touch()  # mtime marks the versions in use; the oldest ones are pruned
    older = sorted((p for p in root.iterdir() if p.is_dir() and p != current), key=lambda p: p.stat().st_mtime)
    for stale in older[:max(0, len(older) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(stale, ignore_errors=True)
    return current


@pytest.fixture(scope="session", autouse=True)
def _session_cache(request, tmp_path_factory):
    """The session's brainalign cache: persistent (see the module docstring) unless ``--private-cache``."""
    if request.config.getoption("--private-cache"):
        os.environ["BRAINALIGN_CACHE"] = str(tmp_path_factory.mktemp("brainalign-cache"))
    else:
        os.environ["BRAINALIGN_CACHE"] = str(persistent_cache(cache_root()))
    yield


@pytest.fixture
def private_cache(tmp_path_factory, monkeypatch) -> Path:
    """An empty brainalign cache for this test only, for tests that check what is (not) cached."""
    folder = tmp_path_factory.mktemp("private-cache")
    monkeypatch.setenv("BRAINALIGN_CACHE", str(folder))
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets beside the checkout; tests that need them skip when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (expected ../shared/data beside the checkout)")
    return SHARED_DATA
