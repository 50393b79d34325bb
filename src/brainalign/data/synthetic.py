"""Simulated brains whose answer is known: linear responses to Gaussian features plus repetition noise.

Each neuroid's noiseless signal is ``X @ W[:, j]`` with Gaussian ``X``; each column of ``W`` is scaled so that
the signal's variance over the simulated stimuli is exactly ``s² = 1``. Each repetition adds independent
Gaussian noise of variance ``σ² = s² / snr``. Averaging ``R`` repetitions gives the theoretical
(Spearman–Brown corrected split-half) reliability ``s² / (s² + σ²/R)``, and the correlation of the true
signal with the averaged response is its square root.

>>> brain = simulated_brain(n_stimuli=20, n_features=5, n_neuroids=3, n_repetitions=4, snr=1.0)
>>> brain.responses.dims, brain.responses.shape
(('stimulus', 'neuroid', 'repetition'), (20, 3, 4))
>>> brain.reliability.round(2).tolist(), brain.max_correlation.round(3).tolist()
([0.8, 0.8, 0.8], [0.894, 0.894, 0.894])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, make_features, make_responses

SIGNAL_VARIANCE = 1.0


@dataclass
class SimulatedBrain:
    """A simulated experiment: the features that generated it, the noisy responses and the ground truth.

    ``signal`` is the noiseless ``features @ weights`` (stimulus × neuroid); ``reliability`` and
    ``max_correlation`` are per-neuroid theoretical values for the repetition-averaged response.
    """

    features: xr.DataArray
    responses: xr.DataArray
    signal: xr.DataArray
    weights: np.ndarray
    snr: np.ndarray
    reliability: np.ndarray
    max_correlation: np.ndarray


def theoretical_reliability(snr: float | np.ndarray, n_repetitions: int) -> np.ndarray:
    """Spearman–Brown reliability of an average of ``n_repetitions`` repeats with ``snr = s²/σ²``.

    >>> float(theoretical_reliability(1.0, 4))
    0.8
    """
    snr = np.asarray(snr, dtype=float)
    return snr * n_repetitions / (snr * n_repetitions + 1.0)


def simulated_brain(
    n_stimuli: int = 500,
    n_features: int = 50,
    n_neuroids: int = 100,
    n_repetitions: int = 4,
    snr: float | Sequence[float] | np.ndarray = 1.0,
    seed: int = 0,
) -> SimulatedBrain:
    """Simulate responses ``X W + noise`` (dims stimulus × neuroid × repetition) with known reliability.

    ``snr`` is the ratio of signal to per-repetition noise variance: one value for all neuroids, or one per
    neuroid (useful to test ceilings across a range of reliabilities).

    >>> brain = simulated_brain(n_stimuli=10, n_neuroids=2, snr=[0.5, 2.0], n_repetitions=2)
    >>> brain.reliability.tolist()
    [0.5, 0.8]
    """
    for name, value in {"n_stimuli": n_stimuli, "n_features": n_features,
                        "n_neuroids": n_neuroids, "n_repetitions": n_repetitions}.items():
        if int(value) < 1:
            raise InvalidInputError(f"{name} must be at least 1; got {value}")
    snr_per_neuroid = np.asarray(snr, dtype=float)
    if snr_per_neuroid.ndim == 0:
        snr_per_neuroid = np.full(n_neuroids, float(snr_per_neuroid))
    if snr_per_neuroid.shape != (n_neuroids,):
        raise InvalidInputError(f"snr needs one value or {n_neuroids} (one per neuroid); got {snr_per_neuroid.size}")
    if (snr_per_neuroid <= 0).any() or not np.isfinite(snr_per_neuroid).all():
        raise InvalidInputError(f"snr must be positive and finite; got {snr_per_neuroid[snr_per_neuroid <= 0][:3]}")

    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_stimuli, n_features))
    weights = rng.standard_normal((n_features, n_neuroids))
    # Scale each column so the neuroid's signal has exactly unit variance over these stimuli.
    weights *= np.sqrt(SIGNAL_VARIANCE) / (features @ weights).std(axis=0, keepdims=True)
    signal = features @ weights
    noise_sd = np.sqrt(SIGNAL_VARIANCE / snr_per_neuroid)
    noise = rng.standard_normal((n_stimuli, n_neuroids, n_repetitions)) * noise_sd[None, :, None]
    responses = signal[:, :, None] + noise

    stimulus_ids = [f"stim{i:05d}" for i in range(n_stimuli)]
    neuroid_ids = [f"neuroid{j:04d}" for j in range(n_neuroids)]
    reliability = theoretical_reliability(snr_per_neuroid, n_repetitions)
    return SimulatedBrain(
        features=make_features(features, stimulus_ids, layer="simulated", model="simulated"),
        responses=make_responses(
            responses, stimulus_ids, dims=(STIMULUS, NEUROID, REPETITION),
            neuroid_coords={"neuroid_id": neuroid_ids}, attrs={"source": "simulated_brain", "seed": seed},
        ),
        signal=make_responses(signal, stimulus_ids, neuroid_coords={"neuroid_id": neuroid_ids}),
        weights=weights,
        snr=snr_per_neuroid,
        reliability=reliability,
        max_correlation=np.sqrt(reliability),
    )
