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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.backend import BackendName, to_numpy
from brainalign.core.labels import STIMULUS, align, stimulus_ids
from brainalign.core.score import Score
from brainalign.mapping.cv import Splits, check_splits, kfold_splits
from brainalign.metrics.encoding.engine import encoding_matrices
from brainalign.metrics.similarity.rdm_comparison import compare_rdms
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.metrics.registry import register_metric
from brainalign.core.config import config_context
from brainalign.mapping.ridge import DEFAULT_ALPHAS, RidgeCV


@register_metric("versa")
def versa(
    source: xr.DataArray,
    target: xr.DataArray,
    *,
    regression_factory: Callable[[], Any] | None = None,
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    distance: str = "correlation",
    comparison: str = "spearman",
    n_splits: int = 5,
    splits: Splits | None = None,
    seed: int = 0,
    backend: BackendName = "numpy",
    device: str | None = None,
    dtype: str = "float32",
) -> Score:
    """Mean over splits of ``comparison``(RDM of predicted, RDM of measured) test responses (``distance`` RDMs)."""
    X, Y = encoding_matrices(source, target)
    ids = np.asarray(stimulus_ids(align(source, target)[1]))
    splits = check_splits(kfold_splits(len(Y), n_splits, shuffle=True, seed=seed) if splits is None else splits,
                          len(Y))
    factory = regression_factory or (lambda: RidgeCV(alphas, seed=seed))
    per_split = []
    for train, test in splits:
        with config_context(backend=backend, device=device, dtype=dtype):
            predicted = to_numpy(factory().fit(X[train], Y[train]).predict(X[test]))
        rdms = [compute_rdm(values, ids[test], distance, backend=backend, device=device, dtype=dtype)
                for values in (predicted, Y[test])]
        per_split.append(float(compare_rdms(*rdms, comparison, backend=backend, device=device, dtype=dtype)[0, 0]))
    per_split = np.asarray(per_split)
    error = float(per_split.std(ddof=1) / np.sqrt(len(per_split))) if len(per_split) > 1 else float("nan")
    score = Score(value=float(per_split.mean()), error=error, per_split=per_split)
    score.provenance.update(metric="versa", distance=distance, comparison=comparison, seed=seed,
                            n_splits=len(splits), n_stimuli=int(target.sizes[STIMULUS]))
    return score
