"""Shape bias on cue-conflict images (Geirhos et al. 2019)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from brainalign.metrics.behaviour.accuracy import correct


def shape_bias(decisions: Sequence[str], shape: Sequence[str], texture: Sequence[str]) -> float:
    """Fraction of shape decisions among the decisions that name the shape or the texture class.

    Trials whose shape and texture classes agree are left out (they cannot tell the cues apart). NaN with a
    warning when no decision names either cue.

    >>> shape_bias(["cat", "dog", "dog", "car", "bird"], ["cat", "cat", "dog", "cat", "bird"],
    ...            ["dog", "dog", "cat", "dog", "bird"])
    0.6666666666666666
    """
    conflict = ~correct(shape, texture)
    shape_hits = correct(decisions, shape)[conflict]
    texture_hits = correct(decisions, texture)[conflict]
    n = int(shape_hits.sum() + texture_hits.sum())
    if n == 0:
        warnings.warn("no decision on a cue-conflict trial names its shape or its texture class; shape bias is NaN",
                      RuntimeWarning, stacklevel=2)
        return float("nan")
    return float(np.sum(shape_hits) / n)
