"""In-silico experiments on generated `Responses`: preferred stimuli and relational control (Gifford et al. 2024).

Both take in-silico responses (stimulus × neuroid) to choose stimuli and are validated on measured responses to
the same, held-out stimuli.

>>> import numpy as np
>>> from brainalign.core.labels import make_responses
>>> r = make_responses(np.array([[1.0, 3.0], [2.0, 1.0], [3.0, 2.0]]), ["a", "b", "c"],
...                    neuroid_coords={"neuroid_id": ["n0", "n1"]})
>>> preferred_stimuli(r, 2)
{'n0': ['c', 'b'], 'n1': ['a', 'c']}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy.stats import rankdata

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, STIMULUS, align, average_repetitions
from brainalign.data.stimuli import StimulusSet
from brainalign.mapping.correlation import pearson_r


def _matrix(responses: xr.DataArray) -> np.ndarray:
    return np.asarray(average_repetitions(responses).transpose(STIMULUS, NEUROID).values, dtype=float)


def preferred_stimuli(responses: xr.DataArray, n_top: int) -> dict[str, list[str]]:
    """The ``n_top`` stimulus ids with the largest response, best first, per neuroid (keyed by ``neuroid_id``)."""
    values, ids = _matrix(responses), responses["stimulus_id"].values
    if not 1 <= n_top <= len(ids):
        raise InvalidInputError(f"n_top must be between 1 and {len(ids)} (the number of stimuli); got {n_top}")
    order = np.argsort(-values, axis=0, kind="stable")[:n_top]
    names = responses["neuroid_id"].values if "neuroid_id" in responses.coords else range(values.shape[1])
    return {str(name): [str(ids[i]) for i in order[:, j]] for j, name in enumerate(names)}


def ranking_agreement(predicted: xr.DataArray, measured: xr.DataArray) -> np.ndarray:
    """Spearman correlation, per neuroid, between predicted and measured responses to the same stimuli.

    >>> import numpy as np
    >>> from brainalign.core.labels import make_responses
    >>> a = make_responses(np.array([[1.0], [2.0], [3.0]]), ["x", "y", "z"])
    >>> ranking_agreement(a, make_responses(np.array([[9.0], [4.0], [1.0]]), ["z", "y", "x"])).tolist()
    [1.0]
    """
    predicted, measured = align(predicted, measured)
    return np.asarray(pearson_r(rankdata(_matrix(predicted), axis=0), rankdata(_matrix(measured), axis=0)))


def population_means(responses: xr.DataArray, population_a: Sequence[int], population_b: Sequence[int]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each population's mean response per stimulus, after z-scoring every neuroid over the stimuli.

    >>> import numpy as np
    >>> from brainalign.core.labels import make_responses
    >>> r = make_responses(np.array([[0.0, 1.0], [2.0, 3.0]]), ["a", "b"])
    >>> [m.tolist() for m in population_means(r, [0], [1])]
    [[-1.0, 1.0], [-1.0, 1.0]]
    """
    values = _matrix(responses)
    for name, population in (("population_a", population_a), ("population_b", population_b)):
        if len(population) == 0 or max(population) >= values.shape[1] or min(population) < 0:
            raise InvalidInputError(f"{name} must be non-empty neuroid indices below {values.shape[1]}; "
                                    f"got {list(population)[:5]}")
    z = (values - values.mean(axis=0)) / values.std(axis=0)
    return z[:, list(population_a)].mean(axis=1), z[:, list(population_b)].mean(axis=1)


def relational_control(predicted: xr.DataArray, population_a: Sequence[int], population_b: Sequence[int],
                       n_stimuli: int) -> dict[str, list[str]]:
    """Stimuli that align or disentangle two populations' (in-silico) responses (univariate relational control).

    ``aligned``: half the stimuli with the largest and half with the smallest sum of the populations' z-scored
    means (both high or both low); ``disentangled``: the same for their difference (one high, the other low).

    >>> import numpy as np
    >>> from brainalign.core.labels import make_responses
    >>> r = make_responses(np.array([[0, 0], [1, 1], [0, 1], [1, 0.0]]), list("abcd"))
    >>> relational_control(r, [0], [1], 2)
    {'aligned': ['b', 'a'], 'disentangled': ['d', 'c']}
    """
    a, b = population_means(predicted, population_a, population_b)
    ids = predicted["stimulus_id"].values
    if n_stimuli < 2 or n_stimuli % 2 or n_stimuli > len(ids):
        raise InvalidInputError(f"n_stimuli must be even, at least 2 and at most {len(ids)}; got {n_stimuli}")
    half = n_stimuli // 2

    def extremes(score: np.ndarray) -> list[str]:
        order = np.argsort(-score, kind="stable")
        return [str(ids[i]) for i in (*order[:half], *order[::-1][:half])]

    return {"aligned": extremes(a + b), "disentangled": extremes(a - b)}


def population_correlation(responses: xr.DataArray, stimulus_ids: Sequence[str], population_a: Sequence[int],
                           population_b: Sequence[int]) -> float:
    """Pearson r over ``stimulus_ids`` between the two populations' z-scored mean responses (z over all stimuli).

    >>> import numpy as np
    >>> from brainalign.core.labels import make_responses
    >>> r = make_responses(np.array([[0, 0], [1, 1], [0, 1], [1, 0.0]]), list("abcd"))
    >>> round(population_correlation(r, ["c", "d"], [0], [1]), 6)
    -1.0
    """
    a, b = population_means(responses, population_a, population_b)
    index = [list(responses["stimulus_id"].values).index(s) for s in stimulus_ids]
    return float(np.corrcoef(a[index], b[index])[0, 1])


def held_out_split(stimuli: StimulusSet, responses: xr.DataArray, train_fraction: float = 0.8, seed: int = 0
                   ) -> tuple[StimulusSet, xr.DataArray, StimulusSet, xr.DataArray]:
    """Training stimuli and responses, then held-out ones: a seeded random split of ``stimuli``.

    >>> import numpy as np
    >>> from brainalign.core.labels import make_responses
    >>> stimuli = StimulusSet("s", list("abcde"), texts=list("abcde"), modality="text")
    >>> split = held_out_split(stimuli, make_responses(np.zeros((5, 1)), list("abcde")), 0.6)
    >>> len(split[0]), split[3].sizes["stimulus"]
    (3, 2)
    """
    if not 0 < train_fraction < 1:
        raise InvalidInputError(f"train_fraction must be between 0 and 1; got {train_fraction}")
    ids = np.asarray(stimuli.stimulus_ids)
    order = np.random.default_rng(seed).permutation(len(ids))
    n_train = int(round(train_fraction * len(ids)))
    parts = []
    for chosen in (sorted(ids[order[:n_train]]), sorted(ids[order[n_train:]])):
        parts += [stimuli.subset(chosen), responses.isel(stimulus=responses["stimulus_id"].isin(chosen).values)]
    return tuple(parts)
