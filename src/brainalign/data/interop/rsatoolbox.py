"""rsatoolbox objects ↔ brainalign's: ``rsatoolbox.rdm.RDMs`` ↔ `RDM`, ``rsatoolbox.data.Dataset`` ↔ `Responses`.

Both keep stimulus ids as the pattern / observation descriptor ``stimulus_id`` (condensed RDMs share scipy's
upper-triangle order), RDM descriptors as ``rdm_descriptors`` and neuroid coordinates as ``channel_descriptors``.
Repetitions become repeated observations (descriptor ``repetition``; NaN-padded repeats are left out) and come
back NaN-padded. rsatoolbox is imported only when a function is called.

>>> import numpy as np
>>> from brainalign.data.rdm import RDM
>>> rdm = RDM([[1.0, 2.0, 3.0]], ["a", "b", "c"], distance="euclidean")
>>> from_rsatoolbox_rdms(to_rsatoolbox_rdms(rdm)) == rdm
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, STIMULUS_ID, stimulus_ids
from brainalign.data.rdm import RDM
from brainalign.data.user import responses_from_trials

_RDM_INDEX = "index"  # the descriptor rsatoolbox adds to every RDMs / Dataset


def to_rsatoolbox_rdms(rdm: RDM) -> Any:
    """An ``rsatoolbox.rdm.RDMs`` holding the same dissimilarities, stimulus ids, distance and descriptors."""
    from rsatoolbox.rdm import RDMs

    return RDMs(np.array(rdm.condensed), dissimilarity_measure=rdm.distance,
                rdm_descriptors={c: list(rdm.descriptors[c]) for c in rdm.descriptors.columns},
                pattern_descriptors={STIMULUS_ID: list(rdm.stimulus_ids)})


def from_rsatoolbox_rdms(rdms: Any, stimulus_key: str = STIMULUS_ID) -> RDM:
    """An `RDM` from an ``rsatoolbox.rdm.RDMs``; stimulus ids from the pattern descriptor ``stimulus_key``
    (positions ``"0", "1", ...`` when it has none)."""
    patterns = rdms.pattern_descriptors
    ids = patterns.get(stimulus_key, [str(i) for i in range(rdms.n_cond)])
    descriptors = pd.DataFrame({k: list(v) for k, v in rdms.rdm_descriptors.items() if k != _RDM_INDEX},
                               index=range(rdms.n_rdm))
    return RDM(rdms.get_vectors(), [str(s) for s in ids], distance=rdms.dissimilarity_measure or "unknown",
               descriptors=descriptors)


def to_rsatoolbox_dataset(responses: xr.DataArray) -> Any:
    """An ``rsatoolbox.data.Dataset`` of `Responses` (stimulus × neuroid [× repetition]): one observation per
    stimulus (and measured repetition), one channel per neuroid."""
    from rsatoolbox.data import Dataset

    ids = stimulus_ids(responses, "responses")
    channels = {name: list(responses[name].values) for name in responses.coords
                if responses[name].dims == (NEUROID,)}
    if REPETITION not in responses.dims:
        if responses.dims != (STIMULUS, NEUROID):
            raise InvalidInputError(f"responses with dims {responses.dims}: expected (stimulus, neuroid[, repetition])")
        return Dataset(np.asarray(responses.values), obs_descriptors={STIMULUS_ID: ids},
                       channel_descriptors=channels or None)
    values = responses.transpose(STIMULUS, REPETITION, NEUROID).values  # (stimulus, repetition, neuroid)
    measured = ~np.isnan(values).all(axis=2)
    stim, rep = np.nonzero(measured)
    return Dataset(values[stim, rep], obs_descriptors={STIMULUS_ID: [ids[i] for i in stim], REPETITION: list(rep)},
                   channel_descriptors=channels or None)


def from_rsatoolbox_dataset(dataset: Any, stimulus_key: str = STIMULUS_ID) -> xr.DataArray:
    """`Responses` from an ``rsatoolbox.data.Dataset``: observations with the same ``stimulus_key`` become
    repetitions (NaN-padded to the most repeated stimulus), channel descriptors neuroid coordinates."""
    if stimulus_key not in dataset.obs_descriptors:
        raise InvalidInputError(f"the rsatoolbox Dataset has no observation descriptor {stimulus_key!r}; valid: "
                                f"{sorted(dataset.obs_descriptors)}")
    labels = [str(s) for s in dataset.obs_descriptors[stimulus_key]]
    channels = {k: list(v) for k, v in dataset.channel_descriptors.items() if k != _RDM_INDEX}
    return responses_from_trials(dataset.measurements, labels, neuroid_coords=channels)
