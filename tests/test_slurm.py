"""`brainalign run` through a real single-node SLURM cluster that this module installs (Debian's slurm-wlm and
munge, as in shared/recipes/slurm-single-node.md), starts and stops by pid: the grid lands in the store with the
numbers of an in-process run, one array task per group, a log per job. Skipped, with the reason, where SLURM
cannot start (not root, no apt-get, daemons that do not come up)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from brainalign.runner.run import RunPlan, plan_benchmarks, run
from brainalign.runner.score import score_grid
from run_plugin import GRID_BENCHMARKS, PLUGIN, write_model

pytestmark = pytest.mark.slow
CONF = Path("/etc/slurm/slurm.conf")


def _install() -> None:
    if os.geteuid() != 0:
        pytest.skip("the SLURM test starts slurmctld, slurmd and munged as root (not root here)")
    if all(shutil.which(d) for d in ("slurmctld", "slurmd", "munged", "sbatch")):
        return
    if shutil.which("apt-get") is None:
        pytest.skip("SLURM is not installed and apt-get is unavailable to install it")
    done = subprocess.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge", shell=True,
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot install slurm-wlm and munge with apt-get: {done.stderr.strip()[-500:]}")


def _config(folder: Path) -> str:
    host = socket.gethostname().split(".")[0]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 - 2048
    return "\n".join([
        "ClusterName=test", f"SlurmctldHost={host}", "SlurmUser=root", "SlurmdUser=root", "AuthType=auth/munge",
        f"StateSaveLocation={folder}/state", f"SlurmdSpoolDir={folder}/spool",
        f"SlurmctldLogFile={folder}/log/ctld.log", f"SlurmdLogFile={folder}/log/d.log",
        f"SlurmctldPidFile={folder}/ctld.pid", f"SlurmdPidFile={folder}/d.pid", "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none", "SchedulerType=sched/backfill", "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core", "ReturnToService=2", "MpiDefault=none", "JobAcctGatherType=jobacct_gather/none",
        f"NodeName={host} CPUs={os.cpu_count()} RealMemory={memory} State=UNKNOWN",
        f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP", ""])


def _drain(timeout_s: float = 60) -> None:
    """Cancel what is left and wait until SLURM forgets every job, so no job step outlives the daemons."""
    subprocess.run(["scancel", "--user", "root"], capture_output=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        queue = subprocess.run(["squeue", "-h"], capture_output=True, text=True)
        if queue.returncode != 0 or not queue.stdout.strip():
            return
        time.sleep(1)


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """munged, slurmctld and slurmd in the foreground (their pids are ours to stop); yields the partition."""
    _install()
    folder = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool", "log"):
        (folder / sub).mkdir()
    for sub in ("/etc/munge", "/run/munge", "/var/log/munge", "/var/lib/munge"):
        Path(sub).mkdir(parents=True, exist_ok=True)
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        key.write_bytes(os.urandom(1024))
    subprocess.run("chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge && "
                   "chmod 400 /etc/munge/munge.key", shell=True, check=True)
    previous = CONF.read_text() if CONF.exists() else None
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(_config(folder))
    daemons: list[subprocess.Popen] = []
    try:
        for command in (["munged", "-F", "--force"], ["slurmctld", "-D"], ["slurmd", "-D"]):
            log = open(folder / "log" / f"{command[0]}.out", "w")  # noqa: SIM115 (closed with the daemon)
            daemons.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
            time.sleep(2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip()
            if state == "idle":
                break
            time.sleep(1)
        else:
            logs = "".join(p.read_text()[-400:] for p in (folder / "log").iterdir())
            pytest.skip(f"SLURM did not come up (sinfo: {state!r}); logs: {logs}")
        yield "debug"
    finally:
        _drain()
        for daemon in reversed(daemons):
            daemon.terminate()
            try:
                daemon.wait(15)
            except subprocess.TimeoutExpired:
                daemon.kill()
        if previous is None:
            CONF.unlink(missing_ok=True)
        else:
            CONF.write_text(previous)


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
