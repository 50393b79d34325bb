"""Peak memory of out-of-core encoding: kernel accumulated from an on-disk HDF5 feature store, kernel ridge with
targets streamed in chunks.

Full size: 10,000 stimuli × 100,000 features (4 GB float32 on disk) → 50,000 targets (2 GB); target < 8 GB
peak resident memory. The work runs in a child process whose peak RSS is read with ``resource.getrusage``.
Usage: ``python benchmarks/bench_streaming.py [--quick]`` (quick: 600 × 5,000 → 2,000, checked against
sklearn Ridge on the same data in memory).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from harness import row, write_rows

ALPHA = 1e3


def write_store(path: Path, n: int, p: int, m: int, block: int) -> None:
    """Low-rank features and targets written block by block (never whole in memory)."""
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(n, 40)).astype(np.float32)
    with h5py.File(path, "w") as f:
        X = f.create_dataset("X", (n, p), dtype="float32", chunks=(n, min(block, p)))
        Y = f.create_dataset("Y", (n, m), dtype="float32", chunks=(n, min(block, m)))
        for start in range(0, p, block):
            width = min(block, p - start)
            X[:, start:start + width] = latent @ rng.normal(size=(40, width)).astype(np.float32) \
                + rng.normal(size=(n, width)).astype(np.float32)
        for start in range(0, m, block):
            width = min(block, m - start)
            Y[:, start:start + width] = latent @ rng.normal(size=(40, width)).astype(np.float32) \
                + 3 * rng.normal(size=(n, width)).astype(np.float32)


def worker(path: str, block: int) -> None:
    from brainalign.mapping.online import accumulate_kernel, kernel_ridge_scores

    with h5py.File(path, "r") as f:
        n = f["X"].shape[0]
        kernel = accumulate_kernel(f["X"], block_size=block)
        train, test = np.arange(int(0.8 * n)), np.arange(int(0.8 * n), n)
        r, _ = kernel_ridge_scores(kernel, f["Y"], train, test, alphas=[ALPHA], chunk_size=block)
    np.save(Path(path).with_suffix(".r.npy"), r)


def main(quick: bool) -> None:
    n, p, m, block = (600, 5000, 2000, 1000) if quick else (10_000, 100_000, 50_000, 5000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.h5"
        write_store(path, n, p, m, block)
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--worker", str(path), str(block)], check=True)
        seconds = time.perf_counter() - start
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 ** 2  # Linux: KiB
        r = np.load(path.with_suffix(".r.npy"))
        check = f"peak RSS {peak_gb:.2f} GB (target < 8 GB); median test r {np.median(r):.3f}"
        if quick:
            from sklearn.linear_model import Ridge

            with h5py.File(path, "r") as f:
                X, Y = f["X"][:], f["Y"][:]
            cut = int(0.8 * n)
            predicted = Ridge(ALPHA).fit(X[:cut], Y[:cut]).predict(X[cut:])
            expected = [np.corrcoef(predicted[:, j], Y[cut:, j])[0, 1] for j in range(m)]
            check += f"; max |r - sklearn Ridge r| {np.abs(r - expected).max():.1e}"
    write_rows(__file__, [row(f"out-of-core kernel ridge {n}x{p}->{m}", seconds, None, None, check,
                              peak_rss_gb=round(peak_gb, 3), quick=quick)])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        main("--quick" in sys.argv)
