"""RDM noise ceiling (Nili et al. 2014), computed as rsatoolbox's ``boot_noise_ceiling`` does (by default).

The upper bound is the mean similarity of each subject's RDM with the pooled RDM of all subjects (which
includes it), the lower bound the same with the pooled RDM of the other subjects (leave one subject out).
``pooling="rsatoolbox"`` (default) pools as the comparison needs: mean of ranks for rank methods, of z-scored
RDMs for pearson, of RMS-normalised RDMs for cosine; ``pooling="plain-mean"`` averages the RDMs themselves, as
Net2Brain does (its bounds are the mean of the squared per-subject values, see
:func:`brainalign.metrics.similarity.rsa.rsa` with ``convention="net2brain"``). Distance comparisons
(``euclidean``, ``manhattan``) always pool by plain mean. All leave-one-out pools come from one total minus
each subject.
Bounds are computed in float64 (they are compared with scores to a few decimals) on the backend and device
of the compute context (:func:`brainalign.core.config.config_context`).

>>> import numpy as np
>>> from brainalign.data.rdm import RDM
>>> signal = np.arange(10.0)
>>> subjects = RDM(signal + np.random.default_rng(0).normal(0, 2, (6, 10)), list("abcde"))
>>> lower, upper = rdm_noise_ceiling(subjects, "spearman")
>>> bool(0 < lower < upper < 1)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.core.backend import asarray, namespace, to_numpy
from brainalign.core.config import compute_settings
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.rdm_comparison import (
    DISTANCE_METHODS,
    RANK_METHODS,
    check_method,
    compare_vectors,
    rank_rows,
)

POOLINGS = ("rsatoolbox", "plain-mean")


def rdm_noise_ceiling(
    rdms: RDM,
    method: str = "spearman",
    *,
    by: str | None = None,
    pooling: str = "rsatoolbox",
) -> tuple[float, float]:
    """``(lower, upper)`` noise-ceiling bounds of subject RDMs; ``by`` names a descriptor that groups RDMs
    (e.g. sessions of one subject are left out together), default: each RDM is its own subject.

    >>> import numpy as np
    >>> from brainalign.data.rdm import RDM
    >>> identical = RDM(np.tile(np.arange(6.0), (3, 1)), list("abcd"))
    >>> [round(bound, 6) for bound in rdm_noise_ceiling(identical, "pearson")]
    [1.0, 1.0]
    """
    lower, upper = rdm_noise_ceiling_per_subject(rdms, method, by=by, pooling=pooling)
    return float(lower.mean()), float(upper.mean())


def rdm_noise_ceiling_per_subject(
    rdms: RDM,
    method: str = "spearman",
    *,
    by: str | None = None,
    pooling: str = "rsatoolbox",
) -> tuple[np.ndarray, np.ndarray]:
    """Each subject's similarity with the pool of the others (lower) and with the pool of all (upper).

    Their means are the bounds of :func:`rdm_noise_ceiling`; the spread of the lower values tells whether
    subjects agree at all (a one-sample test of them against 0). ``pooling``: see the module docstring.

    >>> import numpy as np
    >>> from brainalign.data.rdm import RDM
    >>> identical = RDM(np.tile(np.arange(6.0), (3, 1)), list("abcd"))
    >>> lower, upper = rdm_noise_ceiling_per_subject(identical, "pearson")
    >>> lower.round(6).tolist(), upper.shape
    ([1.0, 1.0, 1.0], (3,))
    """
    check_method(method)
    if pooling not in POOLINGS:
        raise UnknownNameError("noise-ceiling pooling", pooling, POOLINGS)
    groups = np.arange(rdms.n_rdms) if by is None else rdms.descriptors[by].to_numpy()
    labels, group_index = np.unique(groups, return_inverse=True)
    if len(labels) < 2:
        raise InvalidInputError(f"a noise ceiling needs RDMs of at least 2 subjects; got {len(labels)}")
    settings = compute_settings()
    vectors = asarray(rdms.condensed, settings.backend, settings.device, "float64")
    lower, upper = _bounds_per_group(vectors, method, group_index, plain_mean=pooling == "plain-mean")
    return to_numpy(lower).astype(float), to_numpy(upper).astype(float)


def pooling_transform(vectors: Any, method: str, weights: Any | None = None) -> Any:
    """RDM vectors transformed so that their mean is the best pooled RDM for ``method`` (rsatoolbox ``pool_rdm``);
    ``weights`` count entries as in :func:`~brainalign.metrics.similarity.rdm_comparison.compare_vectors`."""
    xp = namespace(vectors)
    if method in DISTANCE_METHODS:
        return vectors
    if method in RANK_METHODS or method in ("tau-a", "tau-b"):
        return rank_rows(vectors, weights)
    w = 1.0 if weights is None else xp.astype(weights, vectors.dtype)
    total = vectors.shape[-1] if weights is None else xp.sum(w, axis=-1, keepdims=True)
    if method in ("pearson", "whitened-pearson"):
        vectors = vectors - xp.sum(vectors * w, axis=-1, keepdims=True) / total
    return vectors / xp.sqrt(xp.sum(vectors * vectors * w, axis=-1, keepdims=True) / total)


def noise_ceiling_vectors(vectors: Any, method: str, group_index: np.ndarray | None = None,
                          weights: Any | None = None) -> tuple[Any, Any]:
    """Lower and upper bounds for condensed RDMs ``(..., n_rdms, P)`` (batched, e.g. over bootstrap samples).

    ``group_index`` gives each RDM's subject (default: one per subject); ``weights`` count or exclude entries.
    """
    xp = namespace(vectors)
    lower, upper = _bounds_per_group(vectors, method, group_index, weights)
    return xp.mean(lower, axis=-1), xp.mean(upper, axis=-1)


def _bounds_per_group(vectors: Any, method: str, group_index: np.ndarray | None = None,
                      weights: Any | None = None, plain_mean: bool = False) -> tuple[Any, Any]:
    """Per-subject lower and upper similarities ``(..., n_groups)`` (sessions of a subject averaged);
    ``plain_mean`` pools the RDMs themselves instead of their :func:`pooling_transform`."""
    xp = namespace(vectors)
    n_rdms = vectors.shape[-2]
    group_index = np.arange(n_rdms) if group_index is None else np.asarray(group_index)
    n_groups = int(group_index.max()) + 1
    membership = np.zeros((n_groups, n_rdms))
    membership[group_index, np.arange(n_rdms)] = 1.0
    device = getattr(vectors, "device", None)
    member = xp.asarray(membership, dtype=vectors.dtype, device=device)
    transformed = vectors if plain_mean else pooling_transform(vectors, method, weights)
    total = xp.sum(transformed, axis=-2, keepdims=True)
    group_sums = member @ transformed  # (..., groups, P)
    sizes = xp.asarray(membership.sum(1)[:, None], dtype=vectors.dtype, device=device)
    pooled_all = total / n_rdms
    pooled_others = (total - group_sums) / (n_rdms - sizes)
    if method in RANK_METHODS:  # the transformed vectors are ranks already: rank only the pools
        vectors = rank_rows(vectors, weights) if plain_mean else transformed
        pooled_all, pooled_others = rank_rows(pooled_all, weights), rank_rows(pooled_others, weights)
    ranked = method in RANK_METHODS
    upper_sim = compare_vectors(pooled_all, vectors, method, weights=weights, ranked=ranked)[..., 0, :]  # (..., n_rdms)
    lower = compare_vectors(pooled_others, vectors, method, weights=weights, ranked=ranked)
    lower_sim = xp.sum(lower * member, axis=-2)
    per_group = (member / sizes)  # mean within each subject
    upper = xp.matrix_transpose(per_group @ upper_sim[..., None])[..., 0, :]
    lower = xp.matrix_transpose(per_group @ lower_sim[..., None])[..., 0, :]
    return lower, upper
