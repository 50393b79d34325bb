"""Reliability ceilings of repeated measurements, per neuroid, in variance units.

``responses`` are labelled arrays with dims ``stimulus``, ``neuroid`` and ``repetition`` (any order);
missing repetitions are NaN, and each stimulus uses the repetitions it has.

* :func:`split_half_reliability` — correlate the means of two random halves of the repetitions
  across stimuli, average over random splits, Spearman–Brown correct to the full number of repeats.
* :func:`internal_consistency` — Brain-Score's ceiling: the repetitions are split into two halves (the same
  halves for every stimulus, 10 seeded halvings), half means correlated across stimuli, Spearman–Brown
  corrected, median over neuroids per halving, mean over halvings.
* :func:`ncsnr` and :func:`nsd_noise_ceiling` — the Natural Scenes Dataset's noise-ceiling SNR and
  the fraction of variance a perfect model could explain when ``n_trials`` repeats are averaged.

>>> import numpy as np
>>> from brainalign.core.labels import make_responses
>>> rng = np.random.default_rng(0)
>>> signal = rng.normal(size=(200, 1, 1))
>>> data = make_responses(signal + rng.normal(size=(200, 1, 4)), [f"s{i}" for i in range(200)],
...                       dims=("stimulus", "neuroid", "repetition"))
>>> bool(abs(split_half_reliability(data)[0] - 0.8) < 0.1)  # theory: 4·1/(4·1+1)
True
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from sklearn.model_selection import ShuffleSplit

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS
from brainalign.core.score import Score
from brainalign.mapping.correlation import pearson_r


def split_half_reliability(responses: xr.DataArray, n_splits: int = 10, seed: int = 0) -> np.ndarray:
    """Spearman–Brown corrected split-half reliability per neuroid (the ceiling of r², variance units).

    For each of ``n_splits`` seeded splits, every stimulus's available repetitions are shuffled and
    halved; the half means are correlated across stimuli per neuroid. The split-half correlations
    are averaged over splits, then corrected: ``2 r / (1 + r)``. Stimuli with fewer than two
    repetitions are left out.
    """
    values = _stimulus_neuroid_repetition(responses)
    if n_splits < 1:
        raise InvalidInputError(f"n_splits must be at least 1; got {n_splits}")
    available = np.isfinite(values)
    n_available = available.sum(axis=2, keepdims=True)
    if (n_available < 2).all():
        raise InvalidInputError("split-half reliability needs at least 2 repetitions of some stimuli; "
                                f"got at most {int(n_available.max())}")
    rng = np.random.default_rng(seed)
    correlations = []
    for _ in range(n_splits):
        # random rank of each repetition among the available ones of its stimulus (missing ones last)
        keys = np.where(available, rng.random((values.shape[0], 1, values.shape[2])), np.inf)
        rank = np.argsort(np.argsort(keys, axis=2), axis=2)
        first = available & (rank < n_available // 2)
        second = available & ~first
        correlations.append(pearson_r(_masked_mean(values, first), _masked_mean(values, second),
                                      nan_policy="omit"))
    r = np.mean(correlations, axis=0)
    return 2 * r / (1 + r)


def internal_consistency(responses: xr.DataArray, n_splits: int = 10, seed: int = 1) -> Score:
    """Brain-Score's ``InternalConsistency`` ceiling (correlation units, a Spearman–Brown corrected r).

    Each of ``n_splits`` seeded halvings (``ShuffleSplit`` of the repetition slots, half and half, as Brain-Score's
    ``CrossValidationSingle`` with ``random_state=1``) averages each half's available repetitions per stimulus,
    correlates the half means across stimuli per neuroid (stimuli missing in a half left out), corrects
    ``2 r / (1 + r)`` and takes the median over neuroids; ``value`` is the mean over halvings, ``per_split`` the
    medians, ``per_neuroid`` each neuroid's corrected r averaged over halvings.

    >>> import numpy as np
    >>> from brainalign.core.labels import make_responses
    >>> rng = np.random.default_rng(0)
    >>> data = make_responses(rng.normal(size=(300, 3, 1)) + rng.normal(size=(300, 3, 4)),
    ...                       [f"s{i}" for i in range(300)], dims=("stimulus", "neuroid", "repetition"))
    >>> score = internal_consistency(data)
    >>> bool(abs(score.value - 0.8) < 0.1), score.per_split.shape  # theory: 4·1/(4·1+1)
    (True, (10,))
    """
    values = _stimulus_neuroid_repetition(responses)
    n_repetitions = values.shape[2]
    if n_repetitions < 2:
        raise InvalidInputError(f"internal consistency needs at least 2 repetitions; got {n_repetitions}")
    halvings = ShuffleSplit(n_splits=n_splits, train_size=0.5, test_size=0.5, random_state=seed)
    corrected = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # stimuli without repeats in a half: NaN, omitted
        for first, second in halvings.split(np.zeros(n_repetitions)):
            r = pearson_r(np.nanmean(values[:, :, first], axis=2), np.nanmean(values[:, :, second], axis=2),
                          nan_policy="omit")
            corrected.append(2 * np.asarray(r, dtype=float) / (1 + np.asarray(r, dtype=float)))
    corrected_array = np.stack(corrected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_split = np.nanmedian(corrected_array, axis=1)
        per_neuroid = np.nanmean(corrected_array, axis=0)
    value = float(np.mean(per_split))
    if not np.isfinite(value):
        warnings.warn("internal consistency is undefined: a halving has no neuroid with a finite split-half "
                      "correlation (constant responses?); the ceiling is NaN", RuntimeWarning, stacklevel=2)
    return Score(value=value, raw=value, error=float(np.std(per_split) / np.sqrt(len(per_split))),
                 per_neuroid=per_neuroid, per_split=per_split,
                 extra={"units": "Pearson r (Spearman-Brown corrected)", "n_splits": n_splits})


def ncsnr(responses: xr.DataArray) -> np.ndarray:
    """Noise-ceiling signal-to-noise ratio per neuroid (Allen et al. 2022, Natural Scenes Dataset).

    ``σ_noise²`` is the mean over stimuli of the variance across repetitions, ``σ_signal² =
    max(0, σ_total² − σ_noise²)`` with ``σ_total²`` the variance of all single trials, and
    ``ncsnr = σ_signal / σ_noise``.

    >>> import numpy as np
    >>> from brainalign.core.labels import make_responses
    >>> rng = np.random.default_rng(0)
    >>> trials = rng.normal(size=(500, 1, 1)) + 0.5 * rng.normal(size=(500, 1, 3))
    >>> data = make_responses(trials, [f"s{i}" for i in range(500)], dims=("stimulus", "neuroid", "repetition"))
    >>> float(ncsnr(data).round(1)[0])  # σ_signal / σ_noise = 1 / 0.5
    2.0
    """
    values = _stimulus_neuroid_repetition(responses)
    repeated = np.isfinite(values).sum(axis=2) >= 2  # (stimulus, neuroid)
    if not repeated.any():
        raise InvalidInputError("ncsnr needs at least 2 repetitions of some stimuli")
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # stimuli with < 2 repeats give NaN, then skipped
        within = np.nanvar(np.where(repeated[:, :, None], values, np.nan), axis=2, ddof=1)
        noise_variance = np.nanmean(within, axis=0)
        trials = np.moveaxis(values, 1, 0).reshape(values.shape[1], -1)  # neuroid × all trials
        total_variance = np.nanvar(trials, axis=1, ddof=1)
        signal_variance = np.maximum(total_variance - noise_variance, 0.0)
        return np.sqrt(signal_variance) / np.sqrt(noise_variance)


def nsd_noise_ceiling(ncsnr: np.ndarray | float, n_trials: int | np.ndarray) -> np.ndarray:
    """Fraction of variance explainable when ``n_trials`` repetitions are averaged: ``ncsnr² / (ncsnr² + 1/n)``.

    >>> float(nsd_noise_ceiling(1.0, 4))
    0.8
    """
    snr_squared = np.asarray(ncsnr, dtype=float) ** 2
    n = np.asarray(n_trials, dtype=float)
    if (n < 1).any():
        raise InvalidInputError(f"n_trials must be at least 1; got {n_trials}")
    return snr_squared / (snr_squared + 1.0 / n)


def _stimulus_neuroid_repetition(responses: xr.DataArray) -> np.ndarray:
    wanted = (STIMULUS, NEUROID, REPETITION)
    dims = tuple(getattr(responses, "dims", ()))
    if set(dims) != set(wanted):
        raise InvalidInputError(f"responses for a ceiling need dims {wanted} (any order); got {dims or 'no dims'}")
    return np.asarray(responses.transpose(*wanted).values, dtype=float)


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    count = mask.sum(axis=2)
    total = np.where(mask, values, 0.0).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
