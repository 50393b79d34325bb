"""Benchmarks for the `brainalign run` tests, imported by every worker (``--import tests/run_plugin.py``).

Three simulated benchmarks (tests/grid_job.py): two show the same stimuli (one feature extraction for both), the
third another stimulus set. Their metric, ``sleepy-ridge``, is ridge after a short sleep, so a test can kill a run
between cells. `write_model` writes a 4-layer model file (``net.py:make``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd

from brainalign.benchmarks.registry import register_benchmark  # noqa: E402
from brainalign.data.stimuli import StimulusSet  # noqa: E402
from brainalign.metrics.registry import get_metric, register_metric
from brainalign.store.results import ResultsStore  # noqa: E402
from grid_job import TEXTS, SimulatedBenchmark, factory_source  # noqa: E402

SLEEP_S = 0.15


@register_metric("sleepy-ridge")
def sleepy_ridge(source, target, **options):
    """Ridge (the registered metric) after ``SLEEP_S`` seconds."""
    time.sleep(SLEEP_S)
    return get_metric("ridge")(source, target, **options)


GATE = "BRAINALIGN_TEST_GATE"  # environment variable: a file path
GATED_CALLS: list[int] = []


@register_metric("gated-ridge")
def gated_ridge(source, target, **options):
    """Ridge; from its third call in a process on, it waits until the file named by ``$BRAINALIGN_TEST_GATE``
    exists (a test can interrupt a job after exactly two cells)."""
    GATED_CALLS.append(1)
    while len(GATED_CALLS) > 2 and not Path(os.environ.get(GATE, "/nonexistent")).exists():
        time.sleep(0.05)
    return get_metric("ridge")(source, target, **options)


@dataclass(frozen=True)
class OtherStimuliBenchmark(SimulatedBenchmark):
    """The same texts under another stimulus-set identifier: another fingerprint, so another extraction."""

    def stimulus_set(self) -> StimulusSet:
        return StimulusSet("sim-other", TEXTS, texts=TEXTS, modality="text")


BENCHMARKS = (SimulatedBenchmark("Sim.V4-sleepy-ridge", "Sim", "V4", "sleepy-ridge", "responses"),
              SimulatedBenchmark("Sim.IT-sleepy-ridge", "Sim", "IT", "sleepy-ridge", "responses"),
              OtherStimuliBenchmark("Sim.V1-sleepy-ridge", "Sim", "V1", "sleepy-ridge", "responses"))
GATED = SimulatedBenchmark("Sim.V4-gated-ridge", "Sim", "V4", "gated-ridge", "responses")
for _benchmark in (*BENCHMARKS, GATED):
    register_benchmark(_benchmark)


def write_model(folder: Path) -> str:
    """Write ``folder/net.py`` (4 layers l1..l4 over the simulated texts); returns its model spec."""
    (folder / "net.py").write_text(factory_source())
    return f"{folder / 'net.py'}:make"


PLUGIN = Path(__file__).resolve()
GRID_BENCHMARKS = tuple(b.identifier for b in BENCHMARKS)
GRID_METRICS = ("sleepy-ridge", "ridge")  # 3 benchmarks x 2 metrics x 4 layers = 24 cells, 2 stimulus sets
N_CELLS = 24


def run_command(spec: str, store: str, workers: int = 1) -> list[str]:
    """The ``brainalign run`` command line of the test grid."""
    command = [sys.executable, "-m", "brainalign.cli", "run", "--import", str(PLUGIN), "-m", spec, "--store", store,
               "--workers", str(workers)]
    for identifier in GRID_BENCHMARKS:
        command += ["-b", identifier]
    for metric in GRID_METRICS:
        command += ["--metric", metric]
    return command


def kill_at(command: list[str], rows: Callable[[], int], at: int, cwd: Path) -> int:
    """Start ``command`` in its own process group, SIGKILL the group once ``rows()`` >= ``at``; the row count."""
    job = subprocess.Popen(command, cwd=cwd, env=os.environ, start_new_session=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while rows() < at and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.03)
    os.killpg(job.pid, signal.SIGKILL)
    output = job.communicate()[0].decode(errors="replace")
    count = rows()
    assert at <= count < N_CELLS, f"killed at {count} rows (wanted {at}..{N_CELLS - 1}): {output[-3000:]}"
    return count


def kill_and_resume(store: str, folder: Path, points: Sequence[int], workers: int = 1) -> tuple[list[int], str]:
    """Run the test grid into ``store``, SIGKILLed once at each of ``points`` stored rows (each run resuming the
    previous one), then to the end; the row counts at the kills and the last run's output."""
    command = run_command(write_model(folder), store, workers)
    results = ResultsStore(store)
    counts = [kill_at(command, lambda: len(results.stored_keys()), at, folder) for at in points]
    finished = subprocess.run(command, cwd=folder, env=os.environ, capture_output=True, text=True, check=True)
    return counts, finished.stdout


def fresh_table(folder: Path) -> pd.DataFrame:
    """The test grid run uninterrupted, in this process, into a new SQLite store: the reference table."""
    from brainalign.runner.run import RunPlan, run

    plan = RunPlan(models=(write_model(folder),), benchmarks=GRID_BENCHMARKS, metrics=GRID_METRICS,
                   store=str(folder / "fresh.sqlite"), imports=(str(PLUGIN),), executor={"workers": 1})
    return run(plan, progress=False).table
