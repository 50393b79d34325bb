"""PLS-25 (Brain-Score's mapping) vs sklearn's NIPALS PLSRegression(25, scale=False) at matching predictions.

Usage: ``python benchmarks/bench_pls.py [--quick]``. Full size is a Brain-Score-like fold
(2,880 training stimuli × 4,096 units → 168 neuroids); ``--quick`` is a small check.
"""

from __future__ import annotations

import sys

import numpy as np
from harness import best_time, row, write_rows
from sklearn.cross_decomposition import PLSRegression as SklearnPLS

from brainalign.mapping.pls import PLSRegression


def main(quick: bool) -> None:
    n_train, n_test, p, m = (400, 100, 800, 40) if quick else (2880, 320, 4096, 168)
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(n_train + n_test, 60))
    X = (latent @ rng.normal(size=(60, p)) + 2 * rng.normal(size=(n_train + n_test, p))).astype(np.float32)
    Y = (latent @ rng.normal(size=(60, m)) + 5 * rng.normal(size=(n_train + n_test, m))).astype(np.float32)
    train, test = slice(0, n_train), slice(n_train, None)
    reference_s, reference = best_time(lambda: SklearnPLS(25, scale=False).fit(X[train], Y[train]).predict(X[test]),
                                       repeat=1 if not quick else 2)
    ours_s, ours = best_time(lambda: PLSRegression(25).fit(X[train], Y[train]).predict(X[test]))
    r = float(np.corrcoef(reference.ravel(), ours.ravel())[0, 1])
    rows = [row(f"pls25 {n_train}x{p}->{m}", ours_s, "sklearn PLSRegression(25, scale=False)", reference_s,
                f"test predictions r={r:.6f}", quick=quick)]
    write_rows(__file__, rows)


if __name__ == "__main__":
    main("--quick" in sys.argv)
