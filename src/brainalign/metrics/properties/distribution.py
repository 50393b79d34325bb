"""Compare a model's distribution of one single-neuron property with the neurons' (Marques et al. 2021).

Both samples are clipped to the property's bin range and histogrammed on its bins (NaN values fall in no bin).
:func:`ks_similarity` is Brain-Score's: one minus the Kolmogorov–Smirnov distance of the two binned CDFs, divided by
the largest distance any distribution could have from the neurons' (all mass in the first or the last bin), so 0 is
as far as possible and 1 identical; when the neurons' histogram leaves both end bins empty the divisor is 1 and it
is exactly ``1 - KS``. :func:`distribution_similarity` averages it over ``n_samples`` bootstrap samples of the
model's units, each as large as the neuron sample. :func:`property_ceiling` is the same comparison of the neurons
with themselves: resampled against all of them (``"bootstrap"``, Brain-Score's ``NeuronalPropertyCeiling``) or one
random half against the other (``"split-half"``).

>>> bins = np.linspace(0, 1, 11)
>>> rng = np.random.default_rng(0)
>>> data = rng.uniform(0, 1, 200)
>>> score = distribution_similarity(rng.uniform(0, 1, 500), data, bins, n_samples=100)
>>> 0.8 < score.raw <= 1
True
"""

from __future__ import annotations

import numpy as np

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.score import Score

N_SAMPLES = 1000
CEILINGS = ("bootstrap", "split-half")


def histogram(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """The fraction of the finite ``values`` in each bin, after clipping them to the bin range."""
    bins = _bins(bins)
    values = np.clip(np.asarray(values, dtype=float).ravel(), bins[0], bins[-1])
    counts = np.histogram(values[np.isfinite(values)], bins=bins)[0].astype(float)
    return counts / counts.sum() if counts.sum() else np.full(len(counts), np.nan)


def ks_similarity(p: np.ndarray, q: np.ndarray) -> float:
    """Brain-Score's KS similarity of histogram ``p`` (model) to histogram ``q`` (neurons); both sum to 1.

    >>> ks_similarity(np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.5, 0.5]))
    0.0
    >>> ks_similarity(np.array([0.2, 0.8]), np.array([0.2, 0.8]))
    1.0
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape or p.ndim != 1:
        raise InvalidInputError(f"ks_similarity compares two histograms on the same bins; got shapes {p.shape}, "
                                f"{q.shape}")
    cdf_q = np.cumsum(q)
    distance = np.max(np.abs(np.cumsum(p) - cdf_q))
    first, last = np.zeros_like(q), np.zeros_like(q)
    first[0], last[-1] = 1, 1
    largest = max(np.max(np.abs(np.cumsum(first) - cdf_q)), np.max(np.abs(np.cumsum(last) - cdf_q)))
    return float(1 - distance / largest)


def distribution_similarity(model_values: np.ndarray, data_values: np.ndarray, bins: np.ndarray,
                            n_samples: int = N_SAMPLES, seed: int = 0) -> Score:
    """Mean (``raw``) and spread (``error``: SD) over bootstrap samples of the model units of their KS similarity
    to the neurons; ``per_split`` holds every sample's value. Scores 0 when more than a tenth of the samples hold
    no finite value (Brain-Score's rule)."""
    model_values = np.asarray(model_values, dtype=float).ravel()
    data_values = np.asarray(data_values, dtype=float).ravel()
    target = histogram(data_values, bins)
    if np.isnan(target).any():
        raise InvalidInputError("the neurons' property has no finite value to compare with")
    if not np.isfinite(model_values).any():
        return Score(0.0, extra={"n_units": 0, "reason": "no model unit has a finite value of this property"})
    rng = np.random.default_rng(seed)
    samples = np.array([ks_similarity(histogram(rng.choice(model_values, len(data_values)), bins), target)
                        for _ in range(n_samples)])  # a sample of only NaN units has no histogram: NaN
    extra = {"n_units": int(np.isfinite(model_values).sum()), "n_neurons": len(data_values)}
    if np.isnan(samples).sum() > n_samples / 10:  # Brain-Score: too few finite units to compare, score 0
        return Score(0.0, error=0.0, per_split=samples, extra=extra)
    return Score(float(np.nanmean(samples)), error=float(np.nanstd(samples)), per_split=samples, extra=extra)


def property_ceiling(data_values: np.ndarray, bins: np.ndarray, method: str = "bootstrap",
                     n_samples: int = N_SAMPLES, seed: int = 0) -> float:
    """The similarity of the neurons to themselves (see the module docstring for ``method``).

    >>> values = np.random.default_rng(1).normal(0.5, 0.1, 300)
    >>> 0.8 < property_ceiling(values, np.linspace(0, 1, 11), "split-half", n_samples=50) < 1
    True
    """
    data_values = np.asarray(data_values, dtype=float).ravel()
    if method == "bootstrap":
        return distribution_similarity(data_values, data_values, bins, n_samples, seed).raw
    if method != "split-half":
        raise UnknownNameError("property ceiling", method, CEILINGS)
    finite = data_values[np.isfinite(data_values)]
    if len(finite) < 4:
        raise InvalidInputError(f"a split-half ceiling needs at least 4 finite values; got {len(finite)}")
    rng = np.random.default_rng(seed)
    halves = (rng.permutation(finite) for _ in range(n_samples))
    return float(np.mean([ks_similarity(histogram(h[: len(h) // 2], bins), histogram(h[len(h) // 2:], bins))
                          for h in halves]))


def _bins(bins: np.ndarray) -> np.ndarray:
    bins = np.asarray(bins, dtype=float).ravel()
    if len(bins) < 2 or np.any(np.diff(bins) <= 0):
        raise InvalidInputError(f"bins must be at least 2 strictly increasing edges; got {bins.tolist()}")
    return bins
