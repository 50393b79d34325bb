"""`RDM`: a stack of representational dissimilarity matrices over the same stimuli.

Stored condensed (upper triangle, scipy ``squareform`` order) as ``(n_rdms, n_pairs)``; each RDM has a
row of ``descriptors`` (subject, session, time, layer, ...). The values are a read-only copy of the input,
so what is derived from them once (ranks) stays valid for the life of the object (:meth:`RDM.derived`).
Like rsatoolbox's ``RDMs``: ``==`` compares values, distance, stimulus ids and descriptors, and
:meth:`RDM.save` / :meth:`RDM.load` round-trip through an ``.npz`` file without pickle.

>>> import numpy as np
>>> rdm = RDM.from_square(np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0.]]), ["a", "b", "c"], distance="euclidean")
>>> rdm.n_rdms, rdm.n_stimuli, rdm.condensed.tolist()
(1, 3, [[1.0, 2.0, 3.0]])
>>> rdm.reorder(["c", "b", "a"]).square()[0].tolist()
[[0.0, 3.0, 2.0], [3.0, 0.0, 1.0], [2.0, 1.0, 0.0]]
>>> rdm
RDM(1 RDM × 3 stimuli, distance='euclidean', descriptors=[])
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import squareform

from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import atomic_path

_FORMAT = "brainalign.RDM/1"


class RDM:
    """Condensed RDMs ``(n_rdms, n_pairs)`` over ``stimulus_ids``, with their ``distance`` and one descriptor row
    each."""

    def __init__(self, condensed: Any, stimulus_ids: Sequence[str], distance: str = "unknown",
                 descriptors: pd.DataFrame | None = None) -> None:
        values = np.atleast_2d(np.array(condensed))  # a private copy: edits of the input cannot reach it
        values.flags.writeable = False
        self._condensed = values
        self._derived: dict[Hashable, Any] = {}
        self.stimulus_ids = [str(s) for s in stimulus_ids]
        self.distance = distance
        n = len(self.stimulus_ids)
        if values.ndim != 2 or values.shape[1] != n * (n - 1) // 2:
            raise InvalidInputError(
                f"condensed RDMs have shape {values.shape}; {n} stimuli need (n_rdms, {n * (n - 1) // 2})"
            )
        if len(set(self.stimulus_ids)) != n:
            seen: set[str] = set()
            duplicated = sorted({s for s in self.stimulus_ids if s in seen or seen.add(s)})
            raise InvalidInputError(f"RDM stimulus ids must be unique; repeated: {duplicated[:5]}")
        if np.isnan(values).any():
            raise InvalidInputError(f"RDMs contain {int(np.isnan(values).sum())} NaN dissimilarities")
        descriptors = pd.DataFrame() if descriptors is None else descriptors
        if descriptors.empty and len(descriptors.columns) == 0:
            descriptors = pd.DataFrame(index=range(self.n_rdms))
        if len(descriptors) != self.n_rdms:
            raise InvalidInputError(f"{len(descriptors)} descriptor rows for {self.n_rdms} RDMs")
        self.descriptors = descriptors.reset_index(drop=True)

    @property
    def condensed(self) -> np.ndarray:
        """The condensed RDMs ``(n_rdms, n_pairs)``, read-only (build a new `RDM` to change them)."""
        return self._condensed

    def derived(self, key: Hashable, compute: Callable[[np.ndarray], Any]) -> Any:
        """``compute(self.condensed)``, computed once per ``key`` and kept on this object (values never change).

        >>> rdm = RDM([[3.0, 1.0, 2.0]], ["a", "b", "c"])
        >>> rdm.derived("ranks", lambda v: v.argsort().argsort() + 1).tolist()
        [[3, 1, 2]]
        """
        if key not in self._derived:
            self._derived[key] = compute(self._condensed)
        return self._derived[key]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RDM):
            return NotImplemented
        return (self.stimulus_ids == other.stimulus_ids and self.distance == other.distance
                and np.array_equal(self.condensed, other.condensed)
                and self.descriptors.equals(other.descriptors))

    __hash__ = None  # type: ignore[assignment]  # equal by value, mutable descriptors

    def __repr__(self) -> str:
        plural = "" if self.n_rdms == 1 else "s"
        return (f"RDM({self.n_rdms} RDM{plural} × {self.n_stimuli} stimuli, distance={self.distance!r}, "
                f"descriptors={list(self.descriptors.columns)})")

    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` (``.npz``: the values, plus stimulus ids, distance and descriptors as JSON), atomically.

        >>> import tempfile, pathlib
        >>> rdm = RDM([[1.0, 2.0, 3.0]], ["a", "b", "c"], "euclidean", pd.DataFrame({"subject": ["s1"]}))
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "rdm.npz"
        >>> rdm.save(path)
        >>> RDM.load(path) == rdm
        True
        """
        columns = {name: [_plain(v) for v in column] for name, column in self.descriptors.items()}
        meta = {"format": _FORMAT, "stimulus_ids": self.stimulus_ids, "distance": self.distance,
                "descriptors": columns}
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, condensed=self.condensed, meta=np.array(json.dumps(meta)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> RDM:
        """Read an `RDM` written by :meth:`save` (no pickle is ever loaded)."""
        with np.load(path, allow_pickle=False) as stored:
            if "meta" not in stored or "condensed" not in stored:
                raise InvalidInputError(f"{os.fspath(path)} is not an RDM file written by RDM.save")
            meta = json.loads(str(stored["meta"]))
            condensed = stored["condensed"]
        if meta.get("format") != _FORMAT:
            raise InvalidInputError(f"{os.fspath(path)} has format {meta.get('format')!r}; expected {_FORMAT!r}")
        descriptors = pd.DataFrame(meta["descriptors"]) if meta["descriptors"] else None
        return cls(condensed, meta["stimulus_ids"], meta["distance"], descriptors)

    @classmethod
    def from_square(
        cls,
        matrices: np.ndarray,
        stimulus_ids: Sequence[str],
        distance: str = "unknown",
        descriptors: pd.DataFrame | None = None,
        atol: float = 1e-6,
    ) -> RDM:
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

    def reorder(self, stimulus_ids: Sequence[str]) -> RDM:
        """The same RDMs indexed by ``stimulus_ids`` (a permutation or a subset of this RDM's ids)."""
        position = {s: i for i, s in enumerate(self.stimulus_ids)}
        missing = [s for s in map(str, stimulus_ids) if s not in position]
        if missing:
            raise InvalidInputError(f"{len(missing)} stimulus ids are not in the RDM (e.g. {missing[:3]})")
        index = np.array([position[str(s)] for s in stimulus_ids])
        square = self.square()[:, index][:, :, index]
        iu = np.triu_indices(len(index), k=1)
        return RDM(square[:, iu[0], iu[1]], list(stimulus_ids), self.distance, self.descriptors.copy())

    def select(self, mask: np.ndarray | Sequence[bool]) -> RDM:
        """The RDMs whose descriptor rows are selected by a boolean mask."""
        mask = np.asarray(mask, dtype=bool)
        return RDM(self.condensed[mask], self.stimulus_ids, self.distance, self.descriptors[mask].copy())

    def mean(self, by: str | None = None) -> RDM:
        """The average RDM, or one average per value of descriptor ``by`` (e.g. average sessions per subject)."""
        if by is None:
            return RDM(self.condensed.mean(0, keepdims=True), self.stimulus_ids, self.distance)
        groups = self.descriptors.groupby(by, sort=False).indices
        stacked = np.stack([self.condensed[idx].mean(0) for idx in groups.values()])
        return RDM(stacked, self.stimulus_ids, self.distance, pd.DataFrame({by: list(groups)}))

    def subject_means(self) -> RDM:
        """One RDM per subject (sessions averaged, descriptor ``subject``); the RDMs themselves without one.
        RSA scores, bootstraps and permutation tests all average this way, so they describe the same number.

        >>> rdm = RDM([[1.0, 2, 3], [3, 4, 5], [0, 0, 1]], list("abc"),
        ...           descriptors=pd.DataFrame({"subject": [1, 1, 2]}))
        >>> rdm.subject_means().condensed.tolist()
        [[2.0, 3.0, 4.0], [0.0, 0.0, 1.0]]
        """
        return self.mean(by="subject") if "subject" in self.descriptors else self

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
    def from_rsatoolbox(cls, rdms, id_descriptor: str = "stimulus_id") -> RDM:
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


def _plain(value: Any) -> Any:
    """A descriptor value as JSON (numpy scalars become Python numbers); anything else is refused by name."""
    value = value.item() if isinstance(value, np.generic) else value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise InvalidInputError(f"descriptor value {value!r} of type {type(value).__name__} cannot be saved; "
                            "use numbers or strings")
