"""Triplet odd-one-out (Hebart et al. 2020, 2023, THINGS): a model's choice from embedding similarity, and accuracy.

As in THINGS, the model's similarity of two objects is the dot product of their embeddings; in a triplet the two most
similar objects form the pair and the third is the odd one out. Accuracy is the fraction of trials where the model's
odd one is the subject's (chance 1/3). When triplets were shown more than once, the ceiling is the accuracy of the
best possible deterministic observer: per distinct triplet, the fraction of its trials with the most frequent
choice, averaged over trials (Hebart et al. 2020's noise ceiling).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainalign.core.errors import InvalidInputError
from brainalign.core.score import Score

OBJECT_COLUMNS = ("object_0", "object_1", "object_2")


def odd_one_out_choices(embeddings: Any, triplets: Any) -> np.ndarray:
    """Position (0, 1, 2) of the odd one out in each triplet of row indices into ``embeddings`` (objects × units).

    >>> x = np.array([[1.0, 0], [0.9, 0.1], [0, 1]])
    >>> odd_one_out_choices(x, [[0, 1, 2], [2, 0, 1]]).tolist()
    [2, 0]
    """
    x = np.asarray(embeddings, dtype=float)
    t = _index_array(triplets, len(x))
    a, b, c = x[t[:, 0]], x[t[:, 1]], x[t[:, 2]]
    # similarity of the pair that leaves out position 0, 1, 2: (b, c), (a, c), (a, b)
    pair = np.stack([(b * c).sum(1), (a * c).sum(1), (a * b).sum(1)], axis=1)
    return pair.argmax(axis=1)


def triplet_accuracy(embeddings: Any, triplets: pd.DataFrame) -> Score:
    """Fraction of ``triplets`` (columns ``object_0..2`` and the subject's ``odd`` position) where the model's odd one
    is the subject's; ``ceiling`` from repeated triplets (NaN when none repeats), ``value = accuracy / ceiling``.

    >>> x = np.array([[1.0, 0], [0.9, 0.1], [0, 1]])
    >>> t = pd.DataFrame({"object_0": [0, 0, 2], "object_1": [1, 1, 0], "object_2": [2, 2, 1], "odd": [2, 1, 0]})
    >>> s = triplet_accuracy(x, t); round(s.raw, 4), round(s.ceiling, 4)
    (0.6667, 0.6667)
    """
    missing = [c for c in (*OBJECT_COLUMNS, "odd") if c not in triplets.columns]
    if missing:
        raise InvalidInputError(f"triplets lack columns {missing}; need {', '.join((*OBJECT_COLUMNS, 'odd'))}")
    odd = triplets["odd"].to_numpy()
    if not np.isin(odd, (0, 1, 2)).all():
        raise InvalidInputError(f"odd must be 0, 1 or 2 (the odd object's column); got {sorted(set(odd) - {0, 1, 2})}")
    hits = odd_one_out_choices(embeddings, triplets[list(OBJECT_COLUMNS)]) == odd
    accuracy, ceiling = float(hits.mean()), repeat_ceiling(triplets)
    return Score(accuracy / ceiling if np.isfinite(ceiling) else accuracy, raw=accuracy, ceiling=ceiling,
                 error=float(hits.std(ddof=1) / np.sqrt(len(hits))) if len(hits) > 1 else np.nan,
                 extra={"chance": 1 / 3, "n_triplets": len(hits)})


def repeat_ceiling(triplets: pd.DataFrame) -> float:
    """Mean over trials of repeated triplets of the share of the most frequent odd object (NaN without repeats).

    >>> repeat_ceiling(pd.DataFrame({"object_0": [1, 3, 1], "object_1": [2, 1, 2], "object_2": [3, 2, 3],
    ...                              "odd": [2, 0, 0]}))
    0.6666666666666666
    """
    objects = np.sort(triplets[list(OBJECT_COLUMNS)].to_numpy(), axis=1)
    chosen = triplets[list(OBJECT_COLUMNS)].to_numpy()[np.arange(len(triplets)), triplets["odd"].to_numpy()]
    table = pd.DataFrame({"key": [tuple(row) for row in objects], "chosen": chosen})
    sizes = table.groupby("key")["chosen"].transform("size")
    repeated = table[sizes > 1]
    if repeated.empty:
        return float("nan")
    counts = repeated.groupby(["key", "chosen"]).size()
    return float(counts.groupby(level="key").max().sum() / len(repeated))


def _index_array(triplets: Any, n_objects: int) -> np.ndarray:
    t = np.asarray(triplets)
    if t.ndim != 2 or t.shape[1] != 3 or not np.issubdtype(t.dtype, np.integer):
        raise InvalidInputError(f"triplets must be an (n, 3) array of integer object indices; got {t.dtype} {t.shape}")
    bad = t[(t < 0) | (t >= n_objects)]
    if bad.size:
        raise InvalidInputError(f"triplet object index {int(bad[0])} is outside the {n_objects} embeddings")
    return t
