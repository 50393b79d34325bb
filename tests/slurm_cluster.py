"""A real single-node SLURM cluster for tests and benchmarks (shared/recipes/slurm-single-node.md): installs
slurm-wlm and munge with apt-get when missing, runs munged, slurmctld and slurmd in the foreground (their pids are
ours to stop), and on exit cancels what is left, waits for the queue to empty and stops the daemons by pid.

Usage: ``with single_node_slurm(folder) as partition: ...``; raises `SlurmUnavailable` (with the reason) where
SLURM cannot start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

CONF = Path("/etc/slurm/slurm.conf")


class SlurmUnavailable(RuntimeError):
    """SLURM cannot be installed or started here; the message says why."""


def install() -> None:
    """Install slurm-wlm and munge with apt-get unless present (needs root)."""
    if os.geteuid() != 0:
        raise SlurmUnavailable("starting slurmctld, slurmd and munged needs root (not root here)")
    if all(shutil.which(d) for d in ("slurmctld", "slurmd", "munged", "sbatch")):
        return
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable("SLURM is not installed and apt-get is unavailable to install it")
    done = subprocess.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge", shell=True,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SlurmUnavailable(f"cannot install slurm-wlm and munge with apt-get: {done.stderr.strip()[-500:]}")


def config(folder: Path) -> str:
    """slurm.conf of a one-node cluster (this host, all its CPUs, its memory less 2 GB) keeping state in folder."""
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


def drain(timeout_s: float = 60) -> None:
    """Cancel what is left and wait until SLURM forgets every job, so no job step outlives the daemons."""
    subprocess.run(["scancel", "--user", "root"], capture_output=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        queue = subprocess.run(["squeue", "-h"], capture_output=True, text=True)
        if queue.returncode != 0 or not queue.stdout.strip():
            return
        time.sleep(1)


@contextlib.contextmanager
def single_node_slurm(folder: Path) -> Iterator[str]:
    """Start the cluster with its state in ``folder``; yields the partition name (``debug``)."""
    install()
    for sub in ("state", "spool", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for sub in ("/etc/munge", "/run/munge", "/var/log/munge", "/var/lib/munge"):
        Path(sub).mkdir(parents=True, exist_ok=True)
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        key.write_bytes(os.urandom(1024))
    subprocess.run("chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge && "
                   "chmod 400 /etc/munge/munge.key", shell=True, check=True)
    previous = CONF.read_text() if CONF.exists() else None
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(config(folder))
    daemons: list[subprocess.Popen] = []
    try:
        for command in (["munged", "-F", "--force"], ["slurmctld", "-D"], ["slurmd", "-D"]):
            with open(folder / "log" / f"{command[0]}.out", "w") as log:
                daemons.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
            time.sleep(2)
        deadline, state = time.monotonic() + 30, ""
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip()
            if state == "idle":
                break
            time.sleep(1)
        else:
            logs = "".join(p.read_text()[-400:] for p in (folder / "log").iterdir())
            raise SlurmUnavailable(f"SLURM did not come up (sinfo: {state!r}); logs: {logs}")
        yield "debug"
    finally:
        if daemons:
            drain()
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
