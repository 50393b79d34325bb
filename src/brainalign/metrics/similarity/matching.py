"""Matching metrics: pair model units with neuroids by their response correlation, then test the pairing.

Each method turns a unit × neuroid correlation matrix (computed on training stimuli) into an
*assignment*: a unit × neuroid weight matrix whose columns sum to 1. A neuroid's held-out score is
the assignment-weighted correlation with the units on the test stimuli.

* one-to-one: the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) gives each neuroid a
  distinct unit, maximising the total correlation (needs at least as many units as neuroids);
* semi-matching: each neuroid takes its best-correlated unit (units may be reused);
* soft matching (Khosla & Williams 2023): the entropic optimal transport plan between units and
  neuroids with uniform marginals and cost ``1 - correlation``, solved by log-domain Sinkhorn.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(40, 3))
>>> one_to_one_assignment(correlation_matrix(x, x[:, [2, 0, 1]])).argmax(0).tolist()
[2, 0, 1]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import linear_sum_assignment

from brainalign.core.backend import asarray, namespace, to_numpy
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import align, average_repetitions, check_finite
from brainalign.core.score import Score
from brainalign.mapping.cv import Splits
from brainalign.metrics.encoding.engine import (
    SPLIT_ERROR,
    label_neuroids,
    resolve_splits,
    undefined_reason,
    undefined_score,
)
from brainalign.metrics.registry import register_metric


def correlation_matrix(x: Any, y: Any) -> Any:
    """Pearson correlations between the columns of ``x`` (stimulus × unit) and ``y`` (stimulus × neuroid).

    Constant columns correlate 0 with everything.

    >>> import numpy as np
    >>> correlation_matrix(np.array([[1., 0.], [2., 0.], [3., 0.]]), np.array([[3.], [2.], [1.]])).round(6).tolist()
    [[-1.0], [0.0]]
    """
    return unit_norm_columns(x).T @ unit_norm_columns(y)


def unit_norm_columns(x: Any) -> Any:
    """Columns centred and scaled to unit norm (constant columns become 0)."""
    xp = namespace(x)
    centred = x - xp.mean(x, axis=0, keepdims=True)
    norms = xp.linalg.vector_norm(centred, axis=0, keepdims=True)
    return centred / xp.where(norms > 0, norms, xp.ones_like(norms))


def one_to_one_assignment(similarity: Any) -> np.ndarray:
    """Hungarian matching maximising total similarity: a (unit × neuroid) 0/1 matrix, one distinct unit per neuroid.

    >>> one_to_one_assignment(np.array([[0.9, 0.8], [0.1, 0.7]])).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    similarity = to_numpy(similarity)
    n_units, n_neuroids = similarity.shape
    if n_units < n_neuroids:
        raise InvalidInputError(
            f"one-to-one matching needs at least as many units as neuroids; got {n_units} units for "
            f"{n_neuroids} neuroids (use 'semi-matching' or 'soft-matching')"
        )
    neuroids, units = linear_sum_assignment(similarity.T, maximize=True)
    assignment = np.zeros(similarity.shape)
    assignment[units, neuroids] = 1.0
    return assignment


def semi_assignment(similarity: Any) -> np.ndarray:
    """Each neuroid's best unit: a (unit × neuroid) 0/1 matrix with one 1 per column (units may repeat).

    >>> semi_assignment(np.array([[0.9, 0.8], [0.1, 0.7]])).tolist()
    [[1.0, 1.0], [0.0, 0.0]]
    """
    similarity = to_numpy(similarity)
    assignment = np.zeros(similarity.shape)
    assignment[similarity.argmax(axis=0), np.arange(similarity.shape[1])] = 1.0
    return assignment


_WARM_STAGE_TOL = 1e-2  # warm stages only need to land near the next stage's solution
_WARM_STAGE_MAX_ITER = 100


def sinkhorn(cost: Any, epsilon: float, max_iter: int = 2000, tol: float = 1e-6) -> Any:
    """Entropic optimal transport plan between uniform marginals (log-domain Sinkhorn with epsilon scaling).

    Minimises ``<P, cost> - epsilon · H(P)`` over plans ``P`` (``m × n``, or a batch ``... × m × n``)
    whose rows sum to ``1/m`` and columns to ``1/n``. The potentials are warm-started through a halving
    sequence of larger ``epsilon`` values (from the cost range down), which keeps small ``epsilon`` fast.
    The last stage stops when the row marginals are within ``tol`` (L1; columns are exact), warning if
    ``max_iter`` iterations were not enough.

    >>> plan = sinkhorn(np.array([[0., 1.], [1., 0.]]), epsilon=0.01)
    >>> plan.round(3).tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    if not epsilon > 0:
        raise InvalidInputError(f"epsilon (entropy regularisation) must be positive; got {epsilon}")
    xp = namespace(cost)
    m, n = cost.shape[-2:]
    log_a, log_b = -math.log(m), -math.log(n)
    cost_range = float(xp.max(cost) - xp.min(cost))
    n_warm_stages = max(0, math.ceil(math.log2(cost_range / epsilon))) if cost_range > 0 else 0
    f = xp.zeros_like(cost[..., :, 0])  # dual potentials divided by the current epsilon
    g = xp.zeros_like(cost[..., 0, :])
    eps = epsilon * 2.0**n_warm_stages
    for stage in range(n_warm_stages, -1, -1):
        stage_eps = epsilon * 2.0**stage
        f, g = f * (eps / stage_eps), g * (eps / stage_eps)  # the same potentials, in units of the new epsilon
        eps = stage_eps
        log_kernel = -cost / eps
        stage_tol, stage_iter = (tol, max_iter) if stage == 0 else (_WARM_STAGE_TOL, _WARM_STAGE_MAX_ITER)
        error = math.inf
        for iteration in range(stage_iter):
            row_lse = _logsumexp(log_kernel + g[..., None, :], axis=-1)
            if iteration > 0:  # rows of the current plan sum to exp(f + row_lse); its columns are exact
                error = float(xp.max(xp.sum(xp.abs(xp.exp(f + row_lse) - 1 / m), axis=-1)))
                if error < stage_tol:
                    break
            f = log_a - row_lse
            g = log_b - _logsumexp(log_kernel + f[..., :, None], axis=-2)
    if error >= tol:
        warnings.warn(f"Sinkhorn did not converge in {max_iter} iterations (marginal error {error:.2g} > tol {tol}); "
                      "increase epsilon or max_iter", RuntimeWarning, stacklevel=2)
    return xp.exp(log_kernel + f[..., :, None] + g[..., None, :])


def _logsumexp(a: Any, axis: int) -> Any:
    xp = namespace(a)
    peak = xp.max(a, axis=axis, keepdims=True)
    return xp.squeeze(peak, axis=axis) + xp.log(xp.sum(xp.exp(a - peak), axis=axis))


def soft_assignment(similarity: Any, epsilon: float = 0.05) -> Any:
    """Soft matching: the transport plan for cost ``1 - similarity``, scaled so that each neuroid's column sums to 1.

    >>> soft_assignment(np.array([[0.9, 0.1], [0.1, 0.9]]), epsilon=0.01).round(3).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return sinkhorn(1 - similarity, epsilon) * similarity.shape[1]


MATCHINGS = ("one-to-one", "semi-matching", "soft-matching")


def matching_splits(
    source: xr.DataArray,
    target: xr.DataArray,
    metric: str,
    *,
    epsilon: float = 0.05,
    splits: Splits | None = None,
    n_splits: int = 5,
    seed: int = 0,
    ceiling: None = None,
) -> tuple[Score, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Fit the assignment of ``metric`` (:data:`MATCHINGS`; soft matching with ``epsilon``) on training stimuli,
    score each neuroid's assignment-weighted correlation on test stimuli: the `Score` and, per split, the
    (unit × neuroid assignment, test features, test responses) it was computed from (empty when undefined).

    The splits are the encoding engine's (seeded ``n_splits`` folds unless ``splits`` are given); fewer than 4
    stimuli, or constant features or responses, give NaN with one warning.

    >>> from brainalign.data.synthetic import simulated_brain
    >>> brain = simulated_brain(n_stimuli=40, n_features=6, n_neuroids=3)
    >>> score, held_out = matching_splits(brain.features, brain.responses, "semi-matching")
    >>> len(held_out), [a.shape for a in held_out[0]]
    (5, [(6, 3), (8, 6), (8, 3)])
    """
    if metric not in MATCHINGS:
        raise UnknownNameError("matching", metric, MATCHINGS)
    if ceiling is not None:
        raise InvalidInputError(f"{metric} takes no ceiling; normalise the per-neuroid scores yourself")
    assign: Callable[[Any], Any] = {"one-to-one": one_to_one_assignment, "semi-matching": semi_assignment,
                                    "soft-matching": lambda s: soft_assignment(s, epsilon)}[metric]
    source, target = align(average_repetitions(source), average_repetitions(target))
    check_finite(source, "features")
    check_finite(target, "responses")
    provenance = {"metric": metric, "seed": seed, **{k: source.attrs[k] for k in ("model", "layer")
                                                     if k in source.attrs}}
    reason = undefined_reason(source.values, target.values)
    if reason is not None:
        return undefined_score(reason, metric, **{k: v for k, v in provenance.items() if k != "metric"}), []
    x, y = asarray(source), asarray(target)
    n = x.shape[0]
    if splits is None and (n_splits < 2 or n_splits > n // 2):  # every test fold needs 2 stimuli for a correlation
        raise InvalidInputError(f"n_splits must be between 2 and n_stimuli / 2 = {n // 2}; got {n_splits}")
    splits = resolve_splits(n, splits, n_splits, seed)
    xp = namespace(x)
    per_split, held_out = [], []
    for train, test in splits:
        train_index = xp.asarray(train, device=getattr(x, "device", None))
        test_index = xp.asarray(test, device=getattr(x, "device", None))
        weights = asarray(assign(correlation_matrix(xp.take(x, train_index, axis=0), xp.take(y, train_index, axis=0))))
        x_test, y_test = xp.take(x, test_index, axis=0), xp.take(y, test_index, axis=0)
        per_split.append(to_numpy(xp.sum(weights * correlation_matrix(x_test, y_test), axis=0)))
        held_out.append((to_numpy(weights), to_numpy(x_test), to_numpy(y_test)))
    per_split_neuroid = np.stack(per_split).astype(float)
    split_means = per_split_neuroid.mean(axis=1)
    score = Score(
        value=split_means.mean(),
        error=split_means.std(ddof=1) / math.sqrt(len(splits)) if len(splits) > 1 else math.nan,
        per_neuroid=label_neuroids(per_split_neuroid.mean(axis=0), target),
        per_split=split_means,
        extra={"n_splits": len(splits), **({"error_kind": SPLIT_ERROR} if len(splits) > 1 else {})},
        provenance=provenance,
    )
    return score, held_out


@register_metric("one-to-one")
def one_to_one_metric(
    source: xr.DataArray, target: xr.DataArray, *, splits: Splits | None = None, n_splits: int = 5, seed: int = 0,
    ceiling: None = None,
) -> Score:
    """Cross-validated one-to-one (Hungarian) matching score: mean held-out correlation of matched pairs.

    >>> from brainalign.core.labels import make_features, make_responses
    >>> x, ids = np.random.default_rng(0).normal(size=(50, 6)), [str(i) for i in range(50)]
    >>> score = one_to_one_metric(make_features(x, ids), make_responses(x[:, [5, 3, 1]], ids))
    >>> round(score.value, 5), score.per_neuroid.values.round(5).tolist()
    (1.0, [1.0, 1.0, 1.0])
    """
    return matching_splits(source, target, "one-to-one", splits=splits, n_splits=n_splits, seed=seed,
                           ceiling=ceiling)[0]


@register_metric("semi-matching")
def semi_matching_metric(
    source: xr.DataArray, target: xr.DataArray, *, splits: Splits | None = None, n_splits: int = 5, seed: int = 0,
    ceiling: None = None,
) -> Score:
    """Cross-validated semi-matching score: each neuroid's held-out correlation with its best training unit.

    >>> from brainalign.data.synthetic import simulated_brain
    >>> brain = simulated_brain(n_stimuli=60, n_features=8, n_neuroids=4)
    >>> round(semi_matching_metric(brain.signal, brain.signal).value, 5)
    1.0
    """
    return matching_splits(source, target, "semi-matching", splits=splits, n_splits=n_splits, seed=seed,
                           ceiling=ceiling)[0]


@register_metric("soft-matching")
def soft_matching_metric(
    source: xr.DataArray, target: xr.DataArray, *, epsilon: float = 0.05, splits: Splits | None = None,
    n_splits: int = 5, seed: int = 0, ceiling: None = None,
) -> Score:
    """Cross-validated soft-matching score (Khosla & Williams 2023): transport-plan-weighted held-out correlation.

    With uniform marginals every unit sends the same mass, so with more units than neuroids part of each
    neuroid's weight sits on units it does not resemble (at most ``n_neuroids / n_units`` on its best one).

    >>> from brainalign.data.synthetic import simulated_brain
    >>> brain = simulated_brain(n_stimuli=60, n_features=8, n_neuroids=4)
    >>> round(soft_matching_metric(brain.signal, brain.signal, epsilon=0.01).value, 3)
    1.0
    """
    return matching_splits(source, target, "soft-matching", epsilon=epsilon, splits=splits, n_splits=n_splits,
                           seed=seed, ceiling=ceiling)[0]
