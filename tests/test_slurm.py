"""`brainalign run` through a real single-node SLURM cluster that this module installs (Debian's slurm-wlm and
munge, as in shared/recipes/slurm-single-node.md), starts and stops by pid: the grid lands in the store with the
numbers of an in-process run, one array task per group, a log per job. Skipped, with the reason, where SLURM
cannot start (not root, no apt-get, daemons that do not come up)."""

from __future__ import annotations

import concurrent.futures
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from brainalign.runner.run import RunPlan, plan_benchmarks, run
from brainalign.runner.score import score_grid
from brainalign.store.results import ResultsStore
from run_plugin import GATE, GATED, GRID_BENCHMARKS, PLUGIN, write_model
from slurm_cluster import SlurmUnavailable, single_node_slurm

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A single-node cluster for the session (tests/slurm_cluster.py); yields its partition."""
    try:
        with single_node_slurm(tmp_path_factory.mktemp("slurm")) as partition:
            yield partition
    except SlurmUnavailable as reason:
        pytest.skip(str(reason))


def test_grid_through_slurm_matches_an_in_process_run(slurm, tmp_path, private_cache):
    jobs = tmp_path / "jobs"
    plan = RunPlan(models=(write_model(tmp_path),), benchmarks=GRID_BENCHMARKS, metrics=("ridge",),
                   store=str(tmp_path / "r.sqlite"), imports=(str(PLUGIN),),
                   executor={"kind": "slurm", "partition": slurm, "folder": str(jobs), "max_concurrent": 2,
                             "cpus_per_task": 1, "mem_gb": 1, "timeout_min": 10, "poll_s": 0.5})
    report = run(plan, progress=False)
    assert report.failures == {} and (report.planned, report.computed) == (12, 12)
    reference = score_grid([plan.models[0]], plan_benchmarks(plan))
    columns = ["model", "layer", "benchmark", "score", "raw", "best"]
    pd.testing.assert_frame_equal(report.table[columns], reference[columns])
    # two stimulus sets: two array tasks, each with its own log
    logs = sorted(p.name.split("_", 1)[1] for p in jobs.rglob("*_log.out"))
    assert logs == ["0_0_log.out", "1_0_log.out"], sorted(jobs.rglob("*"))  # <array job>_<task>_0_log.out
    assert all("Job completed successfully" in p.read_text() + p.with_suffix(".err").read_text()
               for p in jobs.rglob("*_log.out"))
    again = run(plan, progress=False)  # nothing left to submit
    assert (again.skipped, again.computed) == (12, 0)


def _job_ids() -> list[str]:
    return subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()


def test_preempted_job_is_requeued_and_resumes_from_the_store(slurm, tmp_path, private_cache, monkeypatch):
    gate = tmp_path / "gate"
    monkeypatch.setenv(GATE, str(gate))  # exported to the job: its third cell waits for the gate
    plan = RunPlan(models=(write_model(tmp_path),), benchmarks=(GATED.identifier,), store=str(tmp_path / "r.sqlite"),
                   imports=(str(PLUGIN),), executor={"kind": "slurm", "partition": slurm, "folder": str(tmp_path / "j"),
                                                     "mem_gb": 1, "poll_s": 0.5})
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        report = thread.submit(run, plan, progress=False)
        store, deadline = ResultsStore(plan.store), time.monotonic() + 120
        while len(store.stored_keys()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(store.stored_keys()) == 2
        (job,) = _job_ids()
        subprocess.run(["scancel", "--signal=USR2", job], check=True)  # what SLURM sends before preempting
        while _job_ids() and "PD" not in subprocess.run(["squeue", "-h", "-o", "%t"], capture_output=True,
                                                        text=True).stdout and time.monotonic() < deadline:
            time.sleep(0.2)
        # SLURM holds a requeued job back for a while (its begin time); start it now
        subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], capture_output=True)
        gate.touch()
        report = report.result(timeout=180)
    assert report.failures == {} and report.computed == 4
    logs = "".join(p.read_text() for p in (tmp_path / "j").rglob("*_log.*"))
    assert "Calling checkpoint method" in logs and "Requeued" in logs, logs[-3000:]
    reference = score_grid([plan.models[0]], [GATED])
    np.testing.assert_array_equal(report.table["score"], reference["score"])
