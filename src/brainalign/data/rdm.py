"""`RDM`: a stack of representational dissimilarity matrices over the same stimuli.

Stored condensed (upper triangle, scipy ``squareform`` order) as ``(n_rdms, n_pairs)``; each RDM has a
row of ``descriptors`` (subject, session, time, layer, ...).

>>> import numpy as np
>>> rdm = RDM.from_square(np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0.]]), ["a", "b", "c"], distance="euclidean")
>>> rdm.n_rdms, rdm.n_stimuli, rdm.condensed.tolist()
(1, 3, [[1.0, 2.0, 3.0]])
>>> rdm.reorder(["c", "b", "a"]).square()[0].tolist()
[[0.0, 3.0, 2.0], [3.0, 0.0, 1.0], [2.0, 1.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial.distance import squareform

from brainalign.core.errors import InvalidInputError


@dataclass
class RDM:
    condensed: np.ndarray
    stimulus_ids: list[str]
    distance: str = "unknown"
    descriptors: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __post_init__(self) -> None:
        self.condensed = np.atleast_2d(np.asarray(self.condensed))
        self.stimulus_ids = [str(s) for s in self.stimulus_ids]
        n = len(self.stimulus_ids)
        if self.condensed.shape[1] != n * (n - 1) // 2:
            raise InvalidInputError(
                f"condensed RDMs have {self.condensed.shape[1]} entries; {n} stimuli need {n * (n - 1) // 2}"
            )
        if len(set(self.stimulus_ids)) != n:
            raise InvalidInputError("RDM stimulus ids must be unique")
        if np.isnan(self.condensed).any():
            raise InvalidInputError(f"RDMs contain {int(np.isnan(self.condensed).sum())} NaN dissimilarities")
        if self.descriptors.empty:
            self.descriptors = pd.DataFrame(index=range(self.n_rdms))
        if len(self.descriptors) != self.n_rdms:
            raise InvalidInputError(f"{len(self.descriptors)} descriptor rows for {self.n_rdms} RDMs")
        self.descriptors = self.descriptors.reset_index(drop=True)

    @classmethod
    def from_square(
        cls,
        matrices: np.ndarray,
        stimulus_ids: Sequence[str],
        distance: str = "unknown",
        descriptors: pd.DataFrame | None = None,
        atol: float = 1e-6,
    ) -> "RDM":
        """Build from square matrices ``(n, n)`` or ``(n_rdms, n, n)``; they must be symmetric with a zero diagonal."""
        mats = np.asarray(matrices, dtype=float)
        mats = mats[None] if mats.ndim == 2 else mats
        if mats.ndim != 3 or mats.shape[1] != mats.shape[2]:
            raise InvalidInputError(f"square RDMs need shape (n, n) or (n_rdms, n, n); got {np.shape(matrices)}")
        if np.isnan(mats).any():
            raise InvalidInputError(f"RDMs contain {int(np.isnan(mats).sum())} NaN entries")
        scale = max(1.0, float(np.abs(mats).max()))
        asym = np.abs(mats - mats.transpose(0, 2, 1)).max()
        if asym > atol * scale:
            raise InvalidInputError(f"RDMs must be symmetric; largest |D - D.T| is {asym:.3g}")
        diag = np.abs(np.diagonal(mats, axis1=1, axis2=2)).max()
        if diag > atol * scale:
            raise InvalidInputError(f"RDMs must have a zero diagonal; largest |diagonal| is {diag:.3g}")
        iu = np.triu_indices(mats.shape[1], k=1)
        return cls(mats[:, iu[0], iu[1]], list(stimulus_ids), distance,
                   pd.DataFrame() if descriptors is None else descriptors)

    @property
    def n_rdms(self) -> int:
        return self.condensed.shape[0]

    @property
    def n_stimuli(self) -> int:
        return len(self.stimulus_ids)

    def square(self) -> np.ndarray:
        """The RDMs as ``(n_rdms, n, n)`` square matrices."""
        return np.stack([squareform(v, checks=False) for v in self.condensed])

    def reorder(self, stimulus_ids: Sequence[str]) -> "RDM":
        """The same RDMs indexed by ``stimulus_ids`` (a permutation or a subset of this RDM's ids)."""
        position = {s: i for i, s in enumerate(self.stimulus_ids)}
        missing = [s for s in map(str, stimulus_ids) if s not in position]
        if missing:
            raise InvalidInputError(f"{len(missing)} stimulus ids are not in the RDM (e.g. {missing[:3]})")
        index = np.array([position[str(s)] for s in stimulus_ids])
        square = self.square()[:, index][:, :, index]
        iu = np.triu_indices(len(index), k=1)
        return RDM(square[:, iu[0], iu[1]], list(stimulus_ids), self.distance, self.descriptors.copy())

    def select(self, mask: np.ndarray | Sequence[bool]) -> "RDM":
        """The RDMs whose descriptor rows are selected by a boolean mask."""
        mask = np.asarray(mask, dtype=bool)
        return RDM(self.condensed[mask], self.stimulus_ids, self.distance, self.descriptors[mask].copy())

    def mean(self, by: str | None = None) -> "RDM":
        """The average RDM, or one average per value of descriptor ``by`` (e.g. average sessions per subject)."""
        if by is None:
            return RDM(self.condensed.mean(0, keepdims=True), self.stimulus_ids, self.distance)
        groups = self.descriptors.groupby(by, sort=False).indices
        stacked = np.stack([self.condensed[idx].mean(0) for idx in groups.values()])
        return RDM(stacked, self.stimulus_ids, self.distance, pd.DataFrame({by: list(groups)}))

    def to_rsatoolbox(self):
        """The same RDMs as an ``rsatoolbox.rdm.RDMs`` (descriptor columns become rdm_descriptors).

        >>> import numpy as np
        >>> RDM(np.array([[1.0, 2.0, 3.0]]), ["a", "b", "c"]).to_rsatoolbox().n_cond
        3
        """
        from rsatoolbox.rdm import RDMs

        return RDMs(
            self.condensed.astype(float),
            dissimilarity_measure=self.distance,
            rdm_descriptors={k: list(v) for k, v in self.descriptors.items()} or None,
            pattern_descriptors={"stimulus_id": list(self.stimulus_ids)},
        )

    @classmethod
    def from_rsatoolbox(cls, rdms, id_descriptor: str = "stimulus_id") -> "RDM":
        """Wrap an ``rsatoolbox.rdm.RDMs``; stimulus ids come from its pattern descriptor ``id_descriptor``
        (or ``index`` when absent)."""
        patterns = rdms.pattern_descriptors
        ids = patterns.get(id_descriptor, patterns.get("index", range(rdms.n_cond)))
        descriptors = pd.DataFrame({k: list(v) for k, v in rdms.rdm_descriptors.items() if k != "index"})
        return cls(rdms.get_vectors(), list(ids), str(rdms.dissimilarity_measure), descriptors)


def condensed_index(rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Position in a condensed RDM of the pairs ``(rows, cols)`` (any order, ``rows != cols``) among ``n`` stimuli.

    >>> condensed_index(np.array([0, 2]), np.array([1, 1]), 3).tolist()
    [0, 2]
    """
    i, j = np.minimum(rows, cols), np.maximum(rows, cols)
    return i * n - i * (i + 1) // 2 + (j - i - 1)
