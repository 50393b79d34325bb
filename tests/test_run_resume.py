"""A `brainalign run` SIGKILLed at several points resumes and ends identical to an uninterrupted run (SQLite; the
PostgreSQL twin is in tests/test_postgres_store.py). Each resumed run computes only the cells not yet stored."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from brainalign.store.results import KEY, ResultsStore
from run_plugin import N_CELLS, fresh_table, kill_and_resume

COMPARED = ["score", "raw", "ceiling", "error", "units", "normalised", "data_sha256", "seed", "n_splits"]


def assert_resumed_equals_fresh(store: str, folder, points, workers: int = 1) -> None:
    """Kill at ``points``, resume, and compare every stored row with an uninterrupted run's."""
    counts, output = kill_and_resume(store, folder, points, workers)
    assert counts == sorted(counts) and counts[0] < N_CELLS
    stored, already = re.search(r"run: (\d+) cells, (\d+) already stored", output).groups()
    assert int(stored) == N_CELLS and int(already) >= counts[-1]  # nothing that was stored is computed again
    resumed = ResultsStore(store).table().set_index(list(KEY)).sort_index()
    fresh = fresh_table(folder).set_index(list(KEY)).sort_index()
    assert len(resumed) == len(fresh) == N_CELLS
    pd.testing.assert_frame_equal(resumed[COMPARED], fresh[COMPARED])


@pytest.mark.slow
def test_sqlite_run_killed_three_times_ends_identical_to_an_uninterrupted_run(tmp_path, private_cache):
    assert_resumed_equals_fresh(str(tmp_path / "killed.sqlite"), tmp_path, points=(4, 12, 19), workers=1)
