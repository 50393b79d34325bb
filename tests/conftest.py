"""Shared fixtures: the real data in ../shared/data (skipped with a reason when absent) and a private cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("BRAINALIGN_TEST_DATA")
                   or Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
if SHARED_DATA.is_dir():
    os.environ.setdefault("BRAINALIGN_MIRROR", str(SHARED_DATA))


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Every test session starts from an empty cache, so tests never pass on stale files."""
    os.environ["BRAINALIGN_CACHE"] = str(tmp_path_factory.mktemp("brainalign-cache"))
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets beside the checkout; tests that need them skip when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (expected ../shared/data beside the checkout)")
    return SHARED_DATA
