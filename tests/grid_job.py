"""A grid over a simulated benchmark, run as its own process by tests/test_runner_grid.py.

Usage: python grid_job.py STORE GATE MODEL_SPEC. The metric blocks before the third layer until the file GATE
exists, so a test can kill the process (SIGKILL) after exactly two rows were computed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.core.labels import make_responses
from brainalign.data.stimuli import StimulusSet
from brainalign.metrics.registry import get_metric, register_metric

N_STIMULI, N_NEUROIDS = 60, 8
TEXTS = [f"s{i}" for i in range(N_STIMULI)]
CALLS: list[str] = []


def latent() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(N_STIMULI, 3))


def factory_source() -> str:
    """The source of ``path.py`` whose ``make()`` returns a 4-layer callable over the simulated stimuli."""
    return (
        "import numpy as np\n"
        "Z = np.random.default_rng(0).normal(size=(60, 3))\n"
        "def make():\n"
        "    def net(texts):\n"
        "        z = Z[[int(t[1:]) for t in texts]]\n"
        "        return {'l1': z @ np.ones((3, 4)), 'l2': z * [1, 0.5, 0.2], 'l3': z ** 2, 'l4': np.sin(z)}\n"
        "    return {'model': net, 'layers': ['l1', 'l2', 'l3', 'l4'], 'modality': 'text'}\n"
    )


class SimulatedBenchmark(Benchmark):
    """Responses = a linear readout of the latent plus noise (no dataset files)."""

    def stimulus_set(self) -> StimulusSet:
        return StimulusSet("sim", TEXTS, texts=TEXTS, modality="text")

    def target_data(self):
        rng = np.random.default_rng(1)
        values = latent() @ rng.normal(size=(3, N_NEUROIDS)) + 0.5 * rng.normal(size=(N_STIMULI, N_NEUROIDS))
        return make_responses(values, TEXTS)

    def data_sha256(self) -> None:
        return None


def gated_metric(gate: Path):
    ridge = get_metric("ridge")

    def gated(source, target, **options):
        CALLS.append(source.attrs.get("layer"))
        while len(CALLS) > 2 and not gate.exists():
            time.sleep(0.05)
        return ridge(source, target, **options)

    return gated


BENCHMARK = SimulatedBenchmark("Sim.V4-gated", "Sim", "V4", "gated-ridge", "responses")

if __name__ == "__main__":
    from brainalign.runner.score import score_grid
    from brainalign.store.results import ResultsStore

    store, gate, spec = sys.argv[1:4]
    register_metric("gated-ridge")(gated_metric(Path(gate)))
    table = score_grid([spec], [BENCHMARK], store=ResultsStore(store))
    print(f"computed={len(CALLS)} rows={len(table)}")
