"""Cross-validated ridge: ours vs himalaya (RidgeCV, KernelRidgeCV) and scikit-learn (RidgeCV LOO, GridSearchCV).

Full size: 1000 stimuli × 4096 features → 10,000 targets, 5 folds, 10 alphas, one alpha per target.
``--quick`` runs a small size (for checking the script). ``--backend torch --device cuda`` times ours
on a GPU (the references stay on numpy/CPU). Each row checks that alpha choices are identical
(fraction of targets) and gives the largest prediction difference relative to the targets' spread.

Usage: ``python benchmarks/bench_ridge.py [--quick] [--backend torch] [--device cuda]``
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import best_time, row, write_rows  # noqa: E402

from brainalign.core.backend import asarray, namespace, to_numpy  # noqa: E402
from brainalign.core.config import config_context  # noqa: E402
from brainalign.mapping.cv import kfold_splits  # noqa: E402
from brainalign.mapping.ridge import DEFAULT_ALPHAS, RidgeCV  # noqa: E402

ALPHAS = np.asarray(DEFAULT_ALPHAS)


def gemm_gflops(backend: str, device: str | None, size: int = 2048) -> float:
    """This machine's float32 matrix-product throughput (GFLOP/s) on the chosen backend."""
    a = asarray(np.random.default_rng(0).normal(size=(size, size)), backend, device)

    def product():
        return to_numpy(namespace(a).sum(a @ a))  # the sum forces a GPU to finish

    seconds, _ = best_time(product, repeat=5)
    return 2 * size**3 / seconds / 1e9


def ridge_flops(n: int, p: int, t: int, n_alphas: int, splits) -> float:
    """FLOPs of the matrix products and solves of our kernel-form fit (``splits=None``: leave-one-out).

    Counted: the Gram matrix, the penalised inverses of all alphas, per fold the small solves and the
    held-out predictions of every alpha for every target, and the refit (one product per target).
    Not counted: the one n × n eigendecomposition (not a matrix product) and elementwise work, so the
    GEMM fraction derived from it is a lower bound.
    """
    total = 2 * n * n * p + 2 * n_alphas * n**3 + 2 * n * n * t  # Gram, inverses, refit
    if splits is None:
        return total + 2 * n_alphas * n * n * t  # (M y) for every alpha
    for train, test in splits:
        n_tr, n_te = len(train), len(test)
        total += n_alphas * (2 * n_te**3 + 2 * n_te * n_te * n_tr)  # M_TT⁻¹ M_T,train
        total += 2 * t * n_alphas * n_te * n_tr  # held-out predictions
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--backend", default="numpy", choices=["numpy", "torch"])
    parser.add_argument("--device", default=None, help="e.g. cuda (with --backend torch)")
    args = parser.parse_args()
    n, p, t = (200, 512, 500) if args.quick else (1000, 4096, 10_000)
    repeat = 3 if args.quick else 1
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p)).astype("float32")
    Y = (X @ rng.normal(size=(p, t)) / np.sqrt(p) * np.logspace(-2, 0.5, t)).astype("float32")
    Y += rng.normal(size=(n, t)).astype("float32")
    splits = kfold_splits(n, 5, seed=0)
    label = f"{n}x{p}->{t} targets"
    on = f"{args.backend}" + (f"/{args.device}" if args.device else "")
    spread = float(Y.std())

    def ours(cv):
        model = RidgeCV(ALPHAS, cv=cv)

        def fit():
            with config_context(backend=args.backend, device=args.device):
                model.fit(X, Y)
            return to_numpy(model.best_alphas_)  # forces a GPU to finish

        seconds, alphas = best_time(fit, repeat)
        return seconds, alphas, to_numpy(model.predict(X)), model

    def check(alphas, predictions, ref_alphas, ref_predictions) -> str:
        same = np.isclose(alphas, np.asarray(ref_alphas, dtype=float), rtol=1e-4).mean()
        difference = np.abs(predictions - np.asarray(ref_predictions)).max() / spread
        return f"alphas identical {same:.4f}; max |Δpred|/sd(Y) {difference:.1e}"

    rows = []
    kfold_s, kfold_alphas, kfold_pred, model = ours(splits)
    gflops = gemm_gflops(args.backend, args.device)
    assert model.solver_ == "kernel", "the FLOP count is the kernel form's (more features than stimuli)"
    achieved = ridge_flops(n, p, t, len(ALPHAS), splits) / kfold_s / 1e9

    from himalaya.kernel_ridge import KernelRidgeCV
    from himalaya.ridge import RidgeCV as HimalayaRidgeCV

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, reference in (("himalaya.KernelRidgeCV", KernelRidgeCV(ALPHAS, kernel="linear", cv=splits,
                                                                          fit_intercept=True)),
                                ("himalaya.RidgeCV", HimalayaRidgeCV(ALPHAS, cv=splits, fit_intercept=True))):
            ref_s, fitted = best_time(lambda estimator=reference: estimator.fit(X, Y), repeat)
            rows.append(row(f"ridge 5-fold per-target alpha, {label}", kfold_s, name, ref_s,
                            check(kfold_alphas, kfold_pred, fitted.best_alphas_, fitted.predict(X)), backend=on,
                            solver=model.solver_, gemm_gflops=round(gflops, 1),
                            achieved_gflops=round(achieved, 1), gemm_fraction=round(achieved / gflops, 3)))

    from sklearn.linear_model import Ridge
    from sklearn.linear_model import RidgeCV as SklearnRidgeCV
    from sklearn.model_selection import GridSearchCV

    loo_s, loo_alphas, loo_pred, _ = ours("loo")
    loo_achieved = ridge_flops(n, p, t, len(ALPHAS), None) / loo_s / 1e9
    ref_s, fitted = best_time(lambda: SklearnRidgeCV(ALPHAS, alpha_per_target=True).fit(X, Y), repeat)
    rows.append(row(f"ridge leave-one-out per-target alpha, {label}", loo_s, "sklearn.RidgeCV(float64 internally)",
                    ref_s, check(loo_alphas, loo_pred, fitted.alpha_, fitted.predict(X)), backend=on,
                    gemm_gflops=round(gflops, 1), achieved_gflops=round(loo_achieved, 1),
                    gemm_fraction=round(loo_achieved / gflops, 3)))

    shared = RidgeCV(ALPHAS, cv=splits, alpha_per_target=False)

    def fit_shared():
        with config_context(backend=args.backend, device=args.device):
            return to_numpy(shared.fit(X, Y).best_alphas_)

    shared_s, shared_alphas = best_time(fit_shared, repeat)
    start = time.perf_counter()
    grid = GridSearchCV(Ridge(), {"alpha": ALPHAS}, cv=splits, scoring="neg_mean_squared_error").fit(X, Y)
    grid_s = time.perf_counter() - start
    rows.append(row(f"ridge 5-fold one shared alpha, {label}", shared_s, "sklearn.GridSearchCV(Ridge)", grid_s,
                    check(shared_alphas, to_numpy(shared.predict(X)), np.full(t, grid.best_params_["alpha"]),
                          grid.predict(X)) + " (sklearn has no per-target alpha with K folds)", backend=on))
    write_rows(__file__, rows)


if __name__ == "__main__":
    main()
