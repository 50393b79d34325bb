"""Trials → repetitions: turn one row per trial into stimulus × … × repetition, NaN where a stimulus was shown
fewer times than the most repeated one.

>>> import numpy as np
>>> values, ids = trials_to_repetitions(np.array([[1.0], [2.0], [3.0]]), ["a", "b", "a"])
>>> ids, values[:, 0].tolist()
(['a', 'b'], [[1.0, 3.0], [2.0, nan]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from brainalign.core.errors import InvalidInputError


def trials_to_repetitions(values: np.ndarray, stimulus_ids: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """``(stimulus × neuroid[...] × repetition values, stimulus ids)`` from trial rows ``values`` (trial × ...):
    stimuli in order of first appearance, repetitions in trial order."""
    values = np.asarray(values)
    ids = pd.Series([str(s) for s in stimulus_ids])
    if len(ids) != len(values):
        raise InvalidInputError(f"{len(ids)} stimulus ids for {len(values)} trials")
    order = list(dict.fromkeys(ids))
    row = pd.Index(order).get_indexer(ids)
    repetition = ids.groupby(ids, sort=False).cumcount().to_numpy()
    out = np.full((len(order), int(repetition.max()) + 1, *values.shape[1:]), np.nan,
                  dtype=np.result_type(values, np.float32))
    out[row, repetition] = values
    return np.moveaxis(out, 1, -1), order
