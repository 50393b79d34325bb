"""RSA speed vs rsatoolbox: correlation RDM, Spearman comparison of many model RDMs, stimulus bootstrap.

Usage: ``python benchmarks/bench_rsa.py [--quick] [--device cuda]`` (``--quick``: small sizes for a smoke run).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import rsatoolbox
from harness import best_time, row, write_rows
from rsatoolbox.inference import eval_bootstrap_pattern
from rsatoolbox.rdm import compare

from brainalign.core.config import config_context
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.rdm_comparison import compare_rdms
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.stats.bootstrap import bootstrap_rsa


def bench_correlation_rdm(n: int, p: int, backend: str, device: str | None) -> dict:
    x = np.random.default_rng(0).normal(size=(n, p))
    ids = [str(i) for i in range(n)]
    with config_context(backend=backend, device=device):
        ours_s, ours = best_time(lambda: compute_rdm(x, ids, "correlation"))
    dataset = rsatoolbox.data.Dataset(x)
    ref_s, ref = best_time(lambda: rsatoolbox.rdm.calc_rdm(dataset, method="correlation"), repeat=2)
    err = float(np.abs(ours.condensed[0] - ref.get_vectors()[0]).max())
    return row(f"correlation RDM {n}x{p} ({backend}, float32)", ours_s, "rsatoolbox calc_rdm (float64)", ref_s,
               f"max |diff| = {err:.1e}")


def bench_spearman(n_models: int, n: int, backend: str, device: str | None) -> dict:
    rng = np.random.default_rng(1)
    pairs = n * (n - 1) // 2
    ids = [str(i) for i in range(n)]
    brain = RDM(rng.random((1, pairs)), ids)
    models = RDM(rng.random((n_models, pairs)) + brain.condensed, ids)

    def ours():  # a new brain RDM each time: time its ranking too (ranks are kept on the object)
        return compare_rdms(models, RDM(brain.condensed, ids), "spearman")

    with config_context(backend=backend, device=device, dtype="float64"):
        ours_s, sims = best_time(ours)
    ref_models, ref_brain = models.to_rsatoolbox(), brain.to_rsatoolbox()
    ref_s, ref = best_time(lambda: compare(ref_models, ref_brain, "spearman"), repeat=1)
    err = float(np.abs(sims - ref).max())
    return row(f"Spearman {n_models} model RDMs vs 1 brain RDM, {n} conditions ({backend})", ours_s,
               "rsatoolbox compare", ref_s, f"max |diff| = {err:.1e}")


def bench_bootstrap(n_samples: int, ref_samples: int, n: int, backend: str, device: str | None) -> dict:
    rng = np.random.default_rng(2)
    pairs = n * (n - 1) // 2
    ids = [str(i) for i in range(n)]
    truth = rng.random(pairs)
    data = RDM(truth + rng.normal(0, 0.3, (5, pairs)), ids)
    models = RDM(truth * np.linspace(0, 1, 10)[:, None] + rng.random((10, pairs)), ids)
    with config_context(backend=backend, device=device):
        bootstrap_rsa(models, data, "spearman", n_samples=10)  # warm-up: loads the kernel
        ours_s, result = best_time(lambda: bootstrap_rsa(models, data, "spearman", n_samples=n_samples), repeat=3)
    fixed = [rsatoolbox.model.ModelFixed(f"m{i}", models.to_rsatoolbox()[i]) for i in range(10)]
    np.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eval_bootstrap_pattern(fixed, data.to_rsatoolbox(), method="spearman", N=2)  # warm-up
        np.random.seed(0)
        ref_s, ref = best_time(lambda: eval_bootstrap_pattern(fixed, data.to_rsatoolbox(), method="spearman",
                                                              N=ref_samples), repeat=1)
    evaluations = ref.evaluations.reshape(ref_samples, 10)
    ci_diff = max(float(np.abs(np.nanpercentile(evaluations, q, 0) - np.nanpercentile(result.samples, q, 0)).max())
                  for q in (2.5, 97.5))
    return row(f"bootstrap {n_samples} stimulus samples, 10 models x 5 subjects, {n} conditions, Spearman ({backend})",
               ours_s, "rsatoolbox eval_bootstrap_pattern", ref_s * n_samples / ref_samples,
               f"reference timed on {ref_samples} samples ({ref_s:.2f} s) and extrapolated linearly to {n_samples}; "
               f"95% CI bounds differ by at most {ci_diff:.3f} (Monte-Carlo error of {ref_samples} samples)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--device", default=None, help="torch device, e.g. cuda (default: numpy on CPU)")
    args = parser.parse_args()
    backend = "torch" if args.device else "numpy"
    if args.quick:
        rows = [bench_correlation_rdm(200, 512, backend, args.device), bench_spearman(20, 200, backend, args.device),
                bench_bootstrap(100, 10, 40, backend, args.device)]
    else:
        rows = [bench_correlation_rdm(1000, 4096, backend, args.device),
                bench_spearman(100, 1000, backend, args.device), bench_bootstrap(1000, 50, 92, backend, args.device)]
    write_rows(__file__, rows)


if __name__ == "__main__":
    main()
