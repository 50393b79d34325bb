"""`brainalign run` at scale: 3 tiny CNNs × 8 layers × 5 real benchmarks (120 cells) with 1 and 2 local workers,
the share of feature extraction reused, and the SLURM overhead per job on a single-node cluster.

The benchmarks are the five built-in ones on ../shared/data (Kriegeskorte2008 hIT/mIT share 92 images, Net2Brain78
EVC/IT share 78, Cowley2023 V4 has 640): 3 stimulus sets for 5 benchmarks, so 2 of every 5 feature-scoring cells
read features extracted for another benchmark. Each configuration starts from an empty feature cache and store;
the 2-worker scores are checked equal to the 1-worker ones. SLURM overhead: ``--slurm`` starts a cluster
(tests/slurm_cluster.py, needs root) and times 4 no-op jobs run one at a time (submit → result, per job).
Usage: ``python benchmarks/bench_grid.py [--slurm]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import row, write_rows

from brainalign.runner.executors import LocalExecutor, SlurmExecutor
from brainalign.runner.run import RunPlan, run

BENCHMARKS = ("Kriegeskorte2008.hIT-rsa", "Kriegeskorte2008.mIT-rsa", "Net2Brain78.EVC-rsa", "Net2Brain78.IT-rsa",
              "Cowley2023.V4-ridge")
NETS = '''
import torch
from brainalign.models.sources.base import ImagePreprocessing

def _net(seed, width):
    torch.manual_seed(seed)
    blocks, channels = [], 3
    for i in range(8):  # 8 layers: conv + ReLU, stride 2 for the first five (32 px -> 1 px)
        blocks.append(torch.nn.Sequential(torch.nn.Conv2d(channels, width, 3, stride=2 if i < 5 else 1, padding=1),
                                          torch.nn.ReLU()))
        channels = width
    return {"model": torch.nn.Sequential(*blocks).eval(), "layers": [str(i) for i in range(8)],
            "preprocessing": ImagePreprocessing(32, 36)}

def a():
    return _net(0, 4)

def b():
    return _net(1, 6)

def c():
    return _net(2, 8)
'''


def grid(folder: Path, workers: int) -> tuple[float, object]:
    """Run the grid from an empty cache and store with ``workers`` local workers; (seconds, report)."""
    os.environ["BRAINALIGN_CACHE"] = str(folder / f"cache-{workers}")
    plan = RunPlan(models=tuple(f"{folder / 'nets.py'}:{f}" for f in "abc"), benchmarks=BENCHMARKS,
                   store=str(folder / f"store-{workers}.sqlite"))
    start = time.perf_counter()
    report = run(plan, executor=LocalExecutor(workers), progress=False)
    return time.perf_counter() - start, report


def slurm_overhead(folder: Path, jobs: int = 4) -> float:
    """Seconds per no-op job, submitted one at a time to a fresh single-node cluster (submit → result)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from slurm_cluster import single_node_slurm

    with single_node_slurm(folder / "slurm") as partition:
        executor = SlurmExecutor(folder / "jobs", partition=partition, max_concurrent=1, mem_gb=1, poll_s=0.2)
        start = time.perf_counter()
        handles = executor.submit(abs, [(-i,) for i in range(jobs)])
        assert executor.wait(handles) == [None] * jobs
        return (time.perf_counter() - start) / jobs


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-grid-"))
    (folder / "nets.py").write_text(NETS)
    one_s, one = grid(folder, 1)
    two_s, two = grid(folder, 2)
    assert not one.failures and not two.failures, (one.failures, two.failures)
    np.testing.assert_array_equal(one.table["score"].to_numpy(), two.table["score"].to_numpy())
    load = os.getloadavg()[0]
    rows = [row(f"grid 3 models x 8 layers x 5 benchmarks ({one.planned} cells), 2 workers vs 1", two_s,
                "1 local worker", one_s, "scores identical", cells=one.planned,
                feature_cells=one.extractions_needed, extractions=one.extractions_run, reuse=round(one.reuse, 3),
                cpus=os.cpu_count(), load_average=round(load, 1))]
    if "--slurm" in sys.argv:
        per_job = slurm_overhead(folder)
        rows.append(row("SLURM overhead per job (no-op job, submit -> result, one at a time)", per_job, None, None,
                        "4 jobs on a single-node cluster", load_average=round(os.getloadavg()[0], 1)))
    write_rows(__file__, rows)


if __name__ == "__main__":
    main()
