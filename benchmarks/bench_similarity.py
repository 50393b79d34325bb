"""Similarity metrics: CKA, matching, Sinkhorn, Wasserstein and searchlight RSA against plain or reference code.

Rows: (1) linear CKA (kernel form) vs the textbook ``trace(K H L H)`` with explicit centring matrices;
(2) debiased linear CKA vs the same formula; (3) Hungarian one-to-one matching (our correlation matrix +
assignment) vs ``np.corrcoef`` + ``linear_sum_assignment``; (4) log-domain Sinkhorn vs POT's
``ot.sinkhorn(method="sinkhorn_log")``; (5) per-unit Wasserstein vs a loop of ``scipy.stats.wasserstein_distance``;
(6) searchlight RSA vs a loop of ``pdist`` + ``spearmanr`` per centre.
Usage: ``python benchmarks/bench_similarity.py [--quick] [--device cuda]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import ot
from harness import best_time, row, write_rows
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr, wasserstein_distance

from brainalign.core.backend import asarray
from brainalign.core.config import config_context
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.cka import cka
from brainalign.metrics.similarity.distribution import wasserstein_1d
from brainalign.metrics.similarity.matching import correlation_matrix, one_to_one_assignment, sinkhorn
from brainalign.metrics.similarity.searchlight import searchlight_rsa, sphere_members


def plain_linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_gram = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h) / (n - 1) ** 2

    return hsic(k, l_gram) / np.sqrt(hsic(k, k) * hsic(l_gram, l_gram))


def plain_searchlight(volumes: np.ndarray, model: np.ndarray, radius: float) -> np.ndarray:
    mask = np.ones(volumes.shape[:3], bool)
    patterns = volumes[mask].T
    out = np.full(mask.shape, np.nan)
    for centre, members in zip(np.argwhere(mask), sphere_members(mask, radius), strict=True):
        out[tuple(centre)] = spearmanr(pdist(patterns[:, members[members >= 0]], "correlation"), model)[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--device", default="cpu", help="cpu (numpy backend) or cuda (torch backend)")
    args = parser.parse_args()
    quick = args.quick
    repeat = 1 if quick else 3
    backend = "numpy" if args.device == "cpu" else "torch"
    where = f"{backend}/{args.device}"
    rng = np.random.default_rng(0)
    rows = []

    n, p, q = (200, 300, 100) if quick else (1000, 2000, 500)
    x = rng.normal(size=(n, p))
    y = x[:, :q] @ rng.normal(size=(q, q)) + rng.normal(size=(n, q))
    xb, yb = asarray(x, backend, args.device, "float32"), asarray(y, backend, args.device, "float32")
    ref_s, reference = best_time(lambda: plain_linear_cka(x, y), repeat)
    ours_s, ours = best_time(lambda: cka(xb, yb), repeat)
    rows.append(row(f"linear CKA n={n} p={p} q={q} ({where}, float32)", ours_s, "numpy trace(KHLH) float64", ref_s,
                    f"|diff| = {abs(ours - reference):.1e}"))
    ours_s, _ = best_time(lambda: cka(xb, yb, unbiased=True), repeat)
    rows.append(row(f"debiased linear CKA n={n} ({where}, float32)", ours_s, "numpy trace(KHLH) float64", ref_s,
                    "timing only (debiased value differs by design)"))

    n_stim, n_units, n_neuroids = (200, 300, 150) if quick else (1000, 2000, 1000)
    units = rng.normal(size=(n_stim, n_units))
    neuroids = units[:, rng.permutation(n_units)[:n_neuroids]] + rng.normal(size=(n_stim, n_neuroids))

    def reference_matching():
        similarity = np.corrcoef(units.T, neuroids.T)[:n_units, n_units:]
        return linear_sum_assignment(similarity.T, maximize=True)[1]

    ref_s, ref_units = best_time(reference_matching, repeat)
    ours_s, assignment = best_time(lambda: one_to_one_assignment(correlation_matrix(units, neuroids)), repeat)
    same = bool((assignment.argmax(0) == ref_units).all())
    rows.append(row(f"one-to-one matching {n_units} units × {n_neuroids} neuroids", ours_s,
                    "np.corrcoef + linear_sum_assignment", ref_s, f"same assignment: {same}"))

    m = 200 if quick else 1000
    cost = rng.uniform(size=(m, m))
    a = np.full(m, 1 / m)
    ref_s, ref_plan = best_time(lambda: ot.sinkhorn(a, a, cost, 0.05, method="sinkhorn_log", stopThr=1e-6), repeat)
    cost_b = asarray(cost, backend, args.device, "float64")
    ours_s, plan = best_time(lambda: sinkhorn(cost_b, 0.05, tol=1e-6), repeat)
    plan = np.asarray(plan.cpu() if hasattr(plan, "cpu") else plan)
    rows.append(row(f"Sinkhorn {m}×{m} eps=0.05 ({where}, float64)", ours_s, "ot.sinkhorn sinkhorn_log", ref_s,
                    f"max |plan diff| × {m}² = {np.abs(plan - ref_plan).max() * m * m:.1e}"))

    n_samples, n_cols = (200, 100) if quick else (2000, 1000)
    u, v = rng.normal(size=(n_samples, n_cols)), rng.exponential(size=(n_samples + 37, n_cols))
    ref_s, ref_w = best_time(lambda: [wasserstein_distance(u[:, j], v[:, j]) for j in range(n_cols)], repeat)
    ours_s, ours_w = best_time(lambda: wasserstein_1d(u, v), repeat)
    rows.append(row(f"Wasserstein per unit, {n_cols} units × {n_samples} samples", ours_s,
                    "scipy wasserstein_distance loop", ref_s, f"max |diff| = {np.abs(ours_w - ref_w).max():.1e}"))

    side, n_images, radius = (6, 30, 2) if quick else (16, 92, 3)
    volumes = rng.normal(size=(side, side, side, n_images))
    ids = [f"s{i}" for i in range(n_images)]
    model = pdist(rng.normal(size=(n_images, 5)), "correlation")
    ref_s, ref_map = best_time(lambda: plain_searchlight(volumes, model, radius), 1)
    with config_context(backend=backend, device=args.device):
        ours_s, ours_map = best_time(lambda: searchlight_rsa(volumes, ids, RDM(model, ids), radius=radius), repeat)
    rows.append(row(f"searchlight RSA {side}³ voxels r={radius} {n_images} stimuli ({where}, float32)", ours_s,
                    "pdist + spearmanr per centre", ref_s, f"max |diff| = {np.nanmax(np.abs(ours_map - ref_map)):.1e}"))
    write_rows(__file__, rows)


if __name__ == "__main__":
    main()
