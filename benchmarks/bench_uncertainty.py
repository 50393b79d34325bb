"""Uncertainty: what a 1000-sample bootstrap CI (plus a 1000-permutation p-value) adds to scoring an encoding model.

V4-like, Brain-Score sized: 640 stimuli, 1000 features (a PCA'd layer), 50 neuroids, ridge with the default alpha
grid, 10 splits (90/10). "ours" is the batched bootstrap on the held-out predictions (no refit); the reference is
the same bootstrap as a Python loop over samples (numpy per sample). The row reports the bootstrap's share of the
scoring time (target ≤ 10 %) and checks that both give the same samples. A second row does the same for the CKA
bootstrap on the Gram matrices vs a loop of ``cka_from_grams`` on resampled Grams.

Usage: ``python benchmarks/bench_uncertainty.py [--quick]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import best_time, row, write_rows  # noqa: E402

from brainalign.mapping.ridge import RidgeCV  # noqa: E402
from brainalign.metrics.encoding.bootstrap import bootstrap_encoding, median_of_split_means  # noqa: E402
from brainalign.metrics.encoding.engine import cross_validated_predictions, resolve_splits, score_correlations  # noqa: E402
from brainalign.metrics.similarity.cka import cka_from_grams, gram  # noqa: E402
from brainalign.stats.uncertainty import bootstrap_cka  # noqa: E402


def loop_bootstrap(cv, n_samples: int, seed: int) -> np.ndarray:
    """The reference: one resample at a time, per-neuroid r by numpy, the engine's aggregation."""
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(test), (n_samples, len(test))) for _, test in cv.splits]
    arrays = [(np.asarray(p, float), np.asarray(y, float)) for p, y in zip(cv.predictions, cv.targets, strict=True)]
    aggregate = median_of_split_means()
    out = np.empty(n_samples)
    for b in range(n_samples):
        r = []
        for (p, y), idx in zip(arrays, draws, strict=True):
            pc, yc = p[idx[b]] - p[idx[b]].mean(0), y[idx[b]] - y[idx[b]].mean(0)
            r.append((pc * yc).sum(0) / np.sqrt((pc * pc).sum(0) * (yc * yc).sum(0)))
        out[b] = aggregate(np.array(r)[None])[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, p, t, n_samples = (160, 100, 10, 200) if args.quick else (640, 1000, 50, 1000)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p))
    Y = X[:, :20] @ rng.normal(size=(20, t)) / 4 + rng.normal(size=(n, t))
    splits = resolve_splits(n, n_splits=10)

    def score():
        cv = cross_validated_predictions(RidgeCV(), X, Y, splits)
        return cv, score_correlations(cv.correlations())

    score_s, (cv, scored) = best_time(score)
    boot_s, result = best_time(lambda: bootstrap_encoding(cv, n_samples=n_samples, n_permutations=n_samples))
    loop_s, reference = best_time(lambda: loop_bootstrap(cv, n_samples, 0), repeat=1)
    difference = float(np.max(np.abs(result.samples - reference)))
    rows = [row(f"encoding bootstrap CI + permutation p ({n_samples} each), {n}x{p} -> {t}, ridge 10 splits",
                boot_s, "Python loop over samples", loop_s,
                f"max |sample diff| {difference:.1e}; value {scored.raw:.3f} "
                f"CI [{result.ci_low:.3f}, {result.ci_high:.3f}]",
                scoring_s=round(score_s, 4), share_of_scoring=round(boot_s / score_s, 4))]
    k, m = gram(X[:, :100]), gram(Y)

    def loop_cka():
        draws = np.random.default_rng(0).integers(0, n, (n_samples // 10, n))
        return np.array([cka_from_grams(k[np.ix_(d, d)], m[np.ix_(d, d)]) for d in draws])

    cka_s, cka_result = best_time(lambda: bootstrap_cka(k, m, n_samples=n_samples, n_permutations=n_samples),
                                  repeat=1)
    cka_loop_s, cka_reference = best_time(loop_cka, repeat=1)
    cka_difference = float(np.max(np.abs(cka_result.samples[: n_samples // 10] - cka_reference)))
    rows.append(row(f"CKA bootstrap CI + permutation p ({n_samples} each), {n} stimuli",
                    cka_s, f"loop of cka_from_grams ({n_samples // 10} samples, x10)", cka_loop_s * 10,
                    f"max |sample diff| {cka_difference:.1e}"))
    write_rows(__file__, rows)


if __name__ == "__main__":
    main()
