"""veRSA (voxel-encoding RSA, Conwell et al.): RSA between predicted and measured held-out response patterns.

Per split, an encoding model (ridge by default) is fitted on the training stimuli; the RDM of its predicted
responses to the test stimuli is compared with the RDM of the measured test responses. The score is the
mean over splits of that RDM similarity.

>>> from brainalign.data.synthetic import simulated_brain
>>> brain = simulated_brain(n_stimuli=100, n_features=10, n_neuroids=20, snr=4.0)
>>> bool(versa(brain.features, brain.responses).value > 0.5)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import align, stimulus_ids
from brainalign.core.score import Score
from brainalign.data.rdm import RDM
from brainalign.mapping.cv import Splits
from brainalign.mapping.ridge import DEFAULT_ALPHAS, DEFAULT_CV, RidgeCV
from brainalign.metrics.encoding.engine import (
    SPLIT_ERROR,
    cross_validated_predictions,
    encoding_matrices,
    resolve_splits,
    undefined_reason,
    undefined_score,
)
from brainalign.metrics.registry import register_metric
from brainalign.metrics.similarity.rdm_comparison import compare_rdms
from brainalign.metrics.similarity.rdms import compute_rdm


@register_metric("versa")
def versa(
    source: xr.DataArray,
    target: xr.DataArray,
    *,
    estimator: Any = None,
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    inner_cv: int = DEFAULT_CV,
    distance: str = "correlation",
    method: str = "spearman",
    splits: Splits | None = None,
    n_splits: int = 5,
    seed: int = 0,
    ceiling: None = None,
) -> Score:
    """Mean over splits of ``method``(RDM of predicted, RDM of measured) test responses (``distance`` RDMs).

    The predictions are those of clones of ``estimator`` (default: ridge over ``alphas`` with ``inner_cv``
    inner folds). Fewer than 4 stimuli, or constant features or responses, give NaN with one warning.
    """
    return versa_splits(source, target, estimator=estimator, alphas=alphas, inner_cv=inner_cv, distance=distance,
                        method=method, splits=splits, n_splits=n_splits, seed=seed, ceiling=ceiling)[0]


def versa_splits(source: xr.DataArray, target: xr.DataArray, *, estimator: Any = None,
                 alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS, inner_cv: int = DEFAULT_CV,
                 distance: str = "correlation", method: str = "spearman", splits: Splits | None = None,
                 n_splits: int = 5, seed: int = 0, ceiling: None = None) -> tuple[Score, list[tuple[RDM, RDM]]]:
    """The :func:`versa` `Score` and, per split, the (predicted, measured) RDMs of the test stimuli it compared
    (empty when the score is undefined), for a bootstrap over test stimuli without refitting.

    >>> from brainalign.data.synthetic import simulated_brain
    >>> brain = simulated_brain(n_stimuli=40, n_features=5, n_neuroids=8)
    >>> score, rdms = versa_splits(brain.features, brain.responses)
    >>> len(rdms), rdms[0][0].n_stimuli
    (5, 8)
    """
    if ceiling is not None:
        raise InvalidInputError("versa takes no ceiling: it compares RDMs, not per-neuroid predictions")
    X, Y = encoding_matrices(source, target)
    provenance = dict(distance=distance, comparison=method, seed=seed, n_stimuli=len(Y))
    reason = undefined_reason(X, Y)
    if reason is not None:
        return undefined_score(reason, "versa", **provenance), []
    ids = np.asarray(stimulus_ids(align(source, target)[1]))
    estimator = RidgeCV(alphas, cv=inner_cv, seed=seed) if estimator is None else estimator
    result = cross_validated_predictions(estimator, X, Y, resolve_splits(len(Y), splits, n_splits, seed))
    rdms, per_split_values = [], []
    for predicted, measured, (_, test) in zip(result.predictions, result.targets, result.splits, strict=True):
        test_ids = ids[test].tolist()
        pair = (compute_rdm(predicted, test_ids, distance), compute_rdm(measured, test_ids, distance))
        rdms.append(pair)
        per_split_values.append(float(compare_rdms(*pair, method)[0, 0]))
    per_split = np.asarray(per_split_values)
    error = float(per_split.std(ddof=1) / np.sqrt(len(per_split))) if len(per_split) > 1 else float("nan")
    score = Score(value=float(per_split.mean()), error=error, per_split=per_split,
                  extra={"error_kind": SPLIT_ERROR} if len(per_split) > 1 else {})
    score.provenance.update(metric="versa", n_splits=len(result.splits), **provenance)
    return score, rdms
