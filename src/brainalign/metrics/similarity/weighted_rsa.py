"""Weighted RSA: a non-negative mixture of model RDMs fitted to a brain RDM, tested on held-out stimuli.

The brain's dissimilarities are modelled as ``Σ_k w_k · model_k + c`` with ``w ≥ 0`` (non-negative least
squares, ``scipy.optimize.nnls``) and a free intercept ``c`` (fitted by centring both sides over the stimulus
pairs, which is exactly least squares with an unconstrained constant). Cross-validation is over stimuli
(Storrs et al. 2021): the weights are fitted on the pairs of training stimuli and the mixed RDM is compared
with the brain RDM on the pairs of test stimuli only, so no test dissimilarity informs the fit.

>>> import numpy as np
>>> models = np.array([[1.0, 0, 0, 1, 2, 0], [0, 1.0, 3, 0, 1, 1]])
>>> weights, intercept = fit_rdm_weights(models, 2 * models[0] + 0.5 * models[1] + 1)
>>> weights.round(6).tolist(), round(intercept, 6)
([2.0, 0.5], 1.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import nnls

from brainalign.core.errors import InvalidInputError
from brainalign.core.score import Score
from brainalign.data.rdm import RDM
from brainalign.mapping.cv import Splits
from brainalign.metrics.encoding.engine import resolve_splits
from brainalign.metrics.similarity.rdm_comparison import compare_rdms, matched


def fit_rdm_weights(model_rdms: Any, brain_rdm: Any) -> tuple[np.ndarray, float]:
    """Non-negative weights (one per model) and a free intercept fitting condensed ``brain_rdm`` ``(n_pairs,)``
    from condensed ``model_rdms`` ``(n_models, n_pairs)`` by least squares.

    >>> fit_rdm_weights(np.array([[1.0, 2.0, 3.0]]), np.array([3.0, 2.0, 1.0]))[0].tolist()  # w ≥ 0
    [0.0]
    """
    models = np.atleast_2d(np.asarray(model_rdms, dtype=float))
    brain = np.asarray(brain_rdm, dtype=float)
    if brain.ndim != 1 or models.shape[1] != brain.shape[0]:
        raise InvalidInputError(
            f"need model RDMs (n_models, n_pairs) and one brain RDM (n_pairs,); got {models.shape}, {brain.shape}"
        )
    model_means, brain_mean = models.mean(axis=1), brain.mean()
    weights, _ = nnls((models - model_means[:, None]).T, brain - brain_mean)
    return weights, float(brain_mean - weights @ model_means)


def weighted_rsa(
    model_rdms: RDM,
    brain_rdm: RDM,
    *,
    method: str = "spearman",
    splits: Splits | None = None,
    n_splits: int = 5,
    seed: int = 0,
) -> Score:
    """Cross-validated weighted RSA of a stack of model RDMs against one brain RDM.

    Folds over stimuli are the encoding engine's (seeded ``n_splits`` folds unless ``splits`` are given).
    ``value`` is the mean over folds of the held-out comparison (``method`` of
    :func:`~brainalign.metrics.similarity.rdm_comparison.compare_rdms`); ``extra["weights"]`` the fold-averaged
    weights (in the order of ``model_rdms``), ``extra["weights_per_split"]`` the weights of each fold.

    >>> rng = np.random.default_rng(0)
    >>> models = RDM(rng.uniform(size=(2, 190)), [str(i) for i in range(20)])
    >>> brain = RDM(3 * models.condensed[0] + models.condensed[1], models.stimulus_ids)
    >>> score = weighted_rsa(models, brain, method="pearson")
    >>> round(score.value, 6), score.extra["weights"].round(6).tolist()
    (1.0, [3.0, 1.0])
    """
    if brain_rdm.n_rdms != 1:
        raise InvalidInputError(f"weighted RSA fits one brain RDM; got {brain_rdm.n_rdms} (average them: .mean())")
    n = brain_rdm.n_stimuli
    if splits is None and (n_splits < 2 or n_splits > n // 3):  # a test fold needs 3 stimuli (3 pairs)
        raise InvalidInputError(f"n_splits must be between 2 and n_stimuli / 3 = {n // 3}; got {n_splits}")
    models, brain = matched(brain_rdm, model_rdms).square(), brain_rdm.square()
    ids = np.asarray(brain_rdm.stimulus_ids)
    scores, weights = [], []
    splits = resolve_splits(n, splits, n_splits, seed)
    for train, test in splits:
        w, intercept = fit_rdm_weights(_pairs_within(models, train), _pairs_within(brain, train)[0])
        predicted = RDM(w @ _pairs_within(models, test) + intercept, ids[test].tolist(), "weighted")
        observed = RDM(_pairs_within(brain, test), ids[test].tolist(), brain_rdm.distance)
        scores.append(float(compare_rdms(predicted, observed, method)[0, 0]))
        weights.append(w)
    scores_array = np.asarray(scores)
    return Score(
        value=scores_array.mean(),
        error=scores_array.std(ddof=1) / math.sqrt(len(splits)) if len(splits) > 1 else math.nan,
        per_split=scores_array,
        extra={"weights": np.mean(weights, axis=0), "weights_per_split": np.stack(weights), "n_splits": len(splits)},
        provenance={"metric": "weighted-rsa", "comparison": method, "seed": seed},
    )


def _pairs_within(squares: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Condensed ``(n_rdms, n_pairs)`` dissimilarities among the stimuli ``index`` of square RDMs ``(n_rdms, n, n)``."""
    rows, cols = np.triu_indices(len(index), k=1)
    return squares[:, index[rows], index[cols]]
