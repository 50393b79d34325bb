"""Temporal RSA: when does a brain's representational geometry match a model, and how does it evolve?

Time-resolved brain RDMs (one per time point, descriptor ``time``) come from
:func:`~brainalign.metrics.similarity.rdms.compute_rdm` on responses with a ``time`` dim, in one batched pass.

* :func:`temporal_rsa`: a static model RDM against every time point → a time course (one per subject, or
  per any other descriptor, when the stack carries them).

Backend, device and dtype come from the compute context (:func:`brainalign.core.config.config_context`).
* :func:`cross_temporal_rsa`: every time point of one stack against every time point of another
  (e.g. two sessions, two subjects, or EEG vs. MEG) → a time × time matrix.

>>> import numpy as np
>>> from brainalign.data.rdm import RDM
>>> ids = list("abcd")
>>> model = RDM(np.array([1.0, 2, 3, 4, 5, 6]), ids)
>>> brain = RDM(np.array([[6.0, 5, 4, 3, 2, 1], [1, 2, 3, 4, 5, 6]]), ids, descriptors=pd.DataFrame({"time": [0, 10]}))
>>> temporal_rsa(brain, model).round(6).values.tolist()
[-1.0, 1.0]
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import TIME
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.rdm_comparison import compare_rdms


def temporal_rsa(brain_rdms: RDM, model_rdm: RDM, method: str = "spearman") -> xr.DataArray:
    """The similarity of ``model_rdm`` with each brain RDM, labelled by the brain descriptors (``time`` required).

    With descriptors ``time`` only, the result has dim ``time``; with ``subject`` and ``time``, dims
    ``subject × time`` (one time course per subject), and so on for any descriptor columns.
    """
    _check_time(brain_rdms, "brain_rdms")
    if model_rdm.n_rdms != 1:
        raise InvalidInputError(f"temporal RSA compares with one model RDM; got {model_rdm.n_rdms}")
    values = compare_rdms(brain_rdms, model_rdm, method)[:, 0]
    index = pd.MultiIndex.from_frame(brain_rdms.descriptors)
    if index.has_duplicates:
        raise InvalidInputError("brain RDM descriptors must identify each RDM (e.g. one per subject and time)")
    series = pd.Series(values, index=index if index.nlevels > 1 else index.get_level_values(0))
    return xr.DataArray.from_series(series).rename(method)


def cross_temporal_rsa(a: RDM, b: RDM, method: str = "spearman") -> xr.DataArray:
    """Similarity of every time point of ``a`` with every time point of ``b``: dims ``time_a × time_b``.

    Both stacks hold one RDM per time point (descriptor ``time``) over the same stimuli.

    >>> import numpy as np
    >>> ids = list("abcd")
    >>> a = RDM(np.array([[1.0, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]]), ids, descriptors=pd.DataFrame({"time": [0, 1]}))
    >>> cross_temporal_rsa(a, a, "pearson").round(6).values.tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    for name, stack in (("a", a), ("b", b)):
        _check_time(stack, name)
        if list(stack.descriptors.columns) != [TIME] or stack.descriptors[TIME].duplicated().any():
            raise InvalidInputError(
                f"{name} must hold one RDM per time point (descriptor 'time' only); got descriptors "
                f"{list(stack.descriptors.columns)} (select one subject or average them with .mean(by='time'))"
            )
    values = compare_rdms(a, b, method)
    return xr.DataArray(values, dims=("time_a", "time_b"), name=method,
                        coords={"time_a": a.descriptors[TIME].to_numpy(), "time_b": b.descriptors[TIME].to_numpy()})


def _check_time(rdms: RDM, name: str) -> None:
    if TIME not in rdms.descriptors.columns:
        raise InvalidInputError(
            f"{name} need a 'time' descriptor (one RDM per time point, e.g. compute_rdm on responses with a time dim); "
            f"got descriptors {list(rdms.descriptors.columns)}"
        )
