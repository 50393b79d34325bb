"""Brain-Score's CrossRegressedCorrelation (PLS-25 x 10 splits of 90/10) on Cowley's 640 V4 images x one layer:
ours (``crossregressed-correlation``) vs a sklearn loop written like Brain-Score's on the same splits.

Usage: ``python benchmarks/bench_brainscore.py [--quick]``. Full size: efficientnet_lite0 ``blocks.3`` features of
session 210325 (extracted once, cached); ``--quick``: generated 640 x 2,000 features and 50 neuroids.
"""

from __future__ import annotations

import sys

import numpy as np
import scipy.stats
from harness import best_time, row, write_rows
from sklearn.cross_decomposition import PLSRegression as SklearnPLS
from sklearn.model_selection import ShuffleSplit

from brainalign.core.labels import make_features, make_responses
from brainalign.metrics.encoding.variants import cross_regressed_correlation


def brain_score_loop(X: np.ndarray, Y: np.ndarray) -> float:
    """Median over neuroids of held-out r per split, mean over the 10 seeded 90/10 splits (sklearn + scipy)."""
    per_split = []
    for train, test in ShuffleSplit(10, train_size=0.9, test_size=0.1, random_state=1).split(X):
        predicted = SklearnPLS(25, scale=False).fit(X[train], Y[train]).predict(X[test])
        per_split.append(np.median([scipy.stats.pearsonr(predicted[:, j], Y[test, j])[0] for j in range(Y.shape[1])]))
    return float(np.mean(per_split))


def data(quick: bool):
    if quick:
        rng = np.random.default_rng(0)
        latent = rng.normal(size=(640, 30))
        X = latent @ rng.normal(size=(30, 2000)) + rng.normal(size=(640, 2000))
        Y = latent[:, :5] @ rng.normal(size=(5, 50)) + 3 * rng.normal(size=(640, 50))
        ids = [f"s{i}" for i in range(640)]
        return make_features(X.astype(np.float32), ids), make_responses(Y, ids)
    from brainalign.benchmarks.brainscore_protocol import BRAIN_SCORE_BENCHMARKS
    from brainalign.models.extractor import Extractor

    benchmark = BRAIN_SCORE_BENCHMARKS[0]
    features = Extractor("efficientnet_lite0", layers=["blocks.3"]).extract(benchmark.stimulus_set())["blocks.3"]
    return features, benchmark.target_data().mean("repetition", skipna=True)


def main(quick: bool) -> None:
    features, responses = data(quick)
    X = np.asarray(features.values, dtype=np.float32)
    Y = np.asarray(responses.values, dtype=np.float32)
    reference_s, reference = best_time(lambda: brain_score_loop(X, Y), repeat=1)
    ours_s, ours = best_time(lambda: cross_regressed_correlation(features, responses).raw, repeat=1)
    name = f"crossregressed-correlation pls25 x10 {X.shape[0]}x{X.shape[1]}->{Y.shape[1]}"
    write_rows(__file__, [row(name, ours_s, "sklearn PLS-25 + ShuffleSplit + pearsonr loop", reference_s,
                              f"raw ours={ours:.5f} reference={reference:.5f}", quick=quick)])


if __name__ == "__main__":
    main("--quick" in sys.argv)
