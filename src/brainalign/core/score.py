"""`Score`: one number plus everything needed to trust and reproduce it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class Score:
    """A benchmark or metric result.

    ``value`` is what users compare (ceiling-normalised when a ceiling applies), ``raw`` the metric
    before normalisation, ``ceiling`` the reliability bound it was divided by, ``error`` the
    spread across splits (SEM) or subjects.

    >>> s = Score(value=0.5, raw=0.25, ceiling=0.5, error=0.01)
    >>> round(s.value, 2), s.as_row()["ceiling"]
    (0.5, 0.5)
    """

    value: float
    raw: float = math.nan
    ceiling: float = math.nan
    error: float = math.nan
    per_neuroid: np.ndarray | None = None
    per_split: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.value = float(self.value)
        self.raw = float(self.value if math.isnan(self.raw) and math.isnan(self.ceiling) else self.raw)
        self.ceiling = float(self.ceiling)
        self.error = float(self.error)

    def as_row(self) -> dict[str, Any]:
        """Scalar fields and provenance as one flat dict (a row of a results table)."""
        row = {k: v for k, v in asdict(self).items() if k in ("value", "raw", "ceiling", "error")}
        row.update({k: v for k, v in self.provenance.items() if np.isscalar(v) or v is None})
        return row

    def __float__(self) -> float:
        return self.value
