"""Permutation test for RSA: shuffle the stimulus labels of one RDM, batched over permutations.

Ranks (and every entry) of a relabelled RDM are a reindexing of the original condensed vector, so a whole
batch of permutations is one gather and one matrix product.

>>> import numpy as np
>>> from brainalign.data.rdm import RDM
>>> rng = np.random.default_rng(0)
>>> brain = RDM(rng.random(190), [str(i) for i in range(20)])
>>> model = RDM(brain.condensed + rng.normal(0, 0.1, (1, 190)), brain.stimulus_ids)
>>> result = permutation_test_rsa(model, brain, n_permutations=199)
>>> float(result.p_value)
0.005
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from brainalign.core.backend import namespace, to_numpy
from brainalign.core.config import compute_settings, rows_per_block
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.rdm import RDM, condensed_index
from brainalign.metrics.similarity.rdm_comparison import (
    RANK_METHODS,
    check_method,
    compare_vectors,
    matched,
    prepared_vectors,
)

ALTERNATIVES = ("greater", "less", "two-sided")


@dataclass
class PermutationResult:
    """Observed statistic, its permutation p-value (with the +1 correction) and the null distribution."""

    statistic: float
    p_value: float
    null: np.ndarray


def permutation_test_rsa(model: RDM, data: RDM, method: str = "spearman", *, n_permutations: int = 1000,
                         alternative: Literal["greater", "less", "two-sided"] = "greater",
                         seed: int | None = 0) -> PermutationResult:
    """Test the mean similarity over subjects of the single RDM ``model`` with ``data`` by relabelling its stimuli.

    Sessions of a subject (descriptor ``subject``) are averaged first, as the ``rsa`` metric does, so the
    statistic is the RSA score. ``p = (1 + #{null ≥ observed}) / (1 + n_permutations)`` (``≤`` for ``less``,
    absolute values for two-sided). Computed in float64 on the compute context's backend
    and device, in batches that fit its ``working_memory``.
    """
    check_method(method)
    if alternative not in ALTERNATIVES:
        raise UnknownNameError("alternative", alternative, ALTERNATIVES)
    if model.n_rdms != 1:
        raise InvalidInputError(f"the permuted RDM must be a single RDM; got {model.n_rdms} (select one)")
    data = matched(model, data.subject_means())
    ranked = method in RANK_METHODS
    settings = compute_settings()._replace(dtype="float64")
    a, b = prepared_vectors(model, method, settings), prepared_vectors(data, method, settings)
    xp = namespace(a)
    observed = float(to_numpy(xp.mean(compare_vectors(a, b, method, ranked=ranked))))
    n = model.n_stimuli
    rows, cols = np.triu_indices(n, k=1)
    rng = np.random.default_rng(seed)
    batch = rows_per_block(64 * rows.size, n_permutations)  # indices, gathered values, centred copies
    null = []
    for start in range(0, n_permutations, batch):
        size = min(batch, n_permutations - start)
        labels = np.argsort(rng.random((size, n)), axis=1)  # one random permutation per row
        pair = condensed_index(labels[:, rows], labels[:, cols], n)
        permuted = xp.reshape(xp.take(a[0], xp.asarray(pair.reshape(-1), device=getattr(a, "device", None))),
                              pair.shape)
        null.append(to_numpy(xp.mean(compare_vectors(permuted, b, method, ranked=ranked), axis=-1)))
    null = np.concatenate(null)
    if alternative == "greater":
        exceed = null >= observed
    elif alternative == "less":
        exceed = null <= observed
    else:
        exceed = np.abs(null) >= abs(observed)
    return PermutationResult(observed, float((1 + exceed.sum()) / (1 + n_permutations)), null)
