"""Estimate the Marques et al. (2021) V1 properties of model units from their responses to grating sets.

Responses are units × stimuli arrays, with the stimuli's grating parameters as a table (`tuning_grid` arranges them
as units × radius × spatial frequency × orientation × phase). As in Brain-Score, responses are first turned into
firing rates (:func:`firing_rate_transform`: negative activations set to 0, then the affine map that gives the
responsive units the median spontaneous and peak rates of V1, 0.82 and 33.8 spikes/s), units whose receptive-field
centre (:func:`receptive_field_centres`, from small gratings on a grid of positions) lies within 0.15° of the
stimuli are kept, and each study's estimator (`ESTIMATORS`) computes its properties for the units that respond by
more than 5 spikes/s, from the tuning curve through each unit's preferred stimulus.

>>> grid = np.arange(2 * 8, dtype=float).reshape(1, 1, 1, 2, 8)
>>> table = pd.DataFrame({"radius": 1, "spatial_frequency": 2, "orientation": np.repeat([0, 90], 8),
...                       "phase": np.tile(np.arange(0, 360, 45), 2)})
>>> values, levels = tuning_grid(grid.reshape(1, -1), table)
>>> values.shape, levels["orientation"].tolist()
((1, 1, 1, 2, 8), [0.0, 90.0])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.metrics.properties.tuning import (
    circular_variance,
    orientation_bandwidth,
    orthogonal_preferred_ratio,
    phase_modulation,
    size_tuning,
    spatial_frequency_tuning,
)

FACTORS = ("radius", "spatial_frequency", "orientation", "phase")
RESPONSE_THRESHOLD = 5.0  # spikes/s above baseline for a unit to count as responsive
MEDIAN_PEAK_RATE, MEDIAN_SPONTANEOUS_RATE = 33.8, 0.82  # V1, spikes/s
SINGLE_MAX_RATE = 243.1  # the largest V1 peak rate: responsive means above 5/243.1 of the units' largest
RF_THRESHOLD, RF_DISTANCE = 0.05, 0.15  # receptive-field map threshold (fraction of peak), max distance (degrees)
ORIENTATION_WRAP = 157.5  # De Valois' bins run from -22.5 to 157.5 degrees


def tuning_grid(responses: np.ndarray, parameters: pd.DataFrame, factors: tuple[str, ...] = FACTORS
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Units × stimuli ``responses`` as units × one axis per factor (levels sorted), and the levels.

    Every combination of the factors' levels must occur exactly once among the stimuli.
    """
    responses = np.asarray(responses, dtype=float)
    if responses.ndim != 2 or responses.shape[1] != len(parameters):
        raise InvalidInputError(f"responses must be units x {len(parameters)} stimuli; got shape {responses.shape}")
    missing = [f for f in factors if f not in parameters.columns]
    if missing:
        raise InvalidInputError(f"the stimulus parameters lack {missing}; needed: {', '.join(factors)}")
    levels = {f: np.unique(parameters[f].to_numpy(dtype=float)) for f in factors}
    index = tuple(np.searchsorted(levels[f], parameters[f].to_numpy(dtype=float)) for f in factors)
    shape = tuple(len(levels[f]) for f in factors)
    flat = np.ravel_multi_index(index, shape)
    if len(flat) != np.prod(shape) or len(np.unique(flat)) != len(flat):
        raise InvalidInputError(f"the stimuli are not a full grid of {dict(zip(factors, shape, strict=True))}: "
                                f"{len(flat)} stimuli, {len(np.unique(flat))} distinct combinations")
    grid = np.empty((len(responses), *shape))
    grid.reshape(len(responses), -1)[:, flat] = responses
    return grid, levels


def receptive_field_centres(rf_map: np.ndarray, positions: np.ndarray, blank: np.ndarray) -> np.ndarray:
    """Units × (y, x) receptive-field centres in degrees (NaN for units that never exceed their blank response).

    ``rf_map`` is units × positions: each position's largest response over the gratings shown there (``positions``:
    positions × (y, x) degrees). The blank response is subtracted (at least 0 remains); the centre is the
    map-weighted mean position of the points above 5 % of the map's peak.

    >>> positions = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> receptive_field_centres(np.array([[0.0, 0, 0, 4], [0, 2, 0, 2]]), positions, np.zeros(2)).tolist()
    [[1.0, 1.0], [0.5, 1.0]]
    """
    blank = np.clip(np.asarray(blank, dtype=float), 0, None)
    rf_map = np.clip(np.clip(np.asarray(rf_map, dtype=float), 0, None) - blank[:, None], 0, None)
    if rf_map.shape[1] != len(positions):
        raise InvalidInputError(f"rf_map has {rf_map.shape[1]} positions, positions lists {len(positions)}")
    peak = rf_map.max(axis=1, keepdims=True)
    weights = np.where(rf_map > RF_THRESHOLD * peak, rf_map, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centres = weights @ np.asarray(positions, dtype=float) / weights.sum(axis=1, keepdims=True)
    centres[peak[:, 0] <= 0] = np.nan
    return centres


def units_at(centres: np.ndarray, position: tuple[float, float], distance: float = RF_DISTANCE) -> np.ndarray:
    """Indices of the units whose receptive-field centre lies within ``distance`` degrees of ``position`` (y, x)."""
    return np.flatnonzero(np.linalg.norm(np.asarray(centres) - np.asarray(position), axis=1) <= distance)


def firing_rate_transform(orientation_responses: np.ndarray, parameters: pd.DataFrame, blank: np.ndarray
                          ) -> tuple[float, float]:
    """(slope, offset) mapping activations to spikes/s, from the units' responses to the orientation set.

    Each unit's peak is its largest phase-averaged response; among the responsive units the median blank response
    maps to 0.82 and the median peak to 33.8 spikes/s.
    """
    grid, _ = tuning_grid(np.clip(orientation_responses, 0, None), parameters)
    peak = grid.mean(axis=-1).reshape(len(grid), -1).max(axis=1)
    blank = np.clip(np.asarray(blank, dtype=float), 0, None)
    responsive = (peak - blank) > RESPONSE_THRESHOLD / SINGLE_MAX_RATE * np.max(peak - blank)
    if not responsive.any():
        raise InvalidInputError("no unit responds to the orientation gratings more than to the blank screen")
    baseline, top = np.median(blank[responsive]), np.median(peak[responsive])
    slope = (MEDIAN_PEAK_RATE - MEDIAN_SPONTANEOUS_RATE) / (top - baseline)
    return float(slope), float(MEDIAN_SPONTANEOUS_RATE - slope * baseline)


def firing_rates(responses: np.ndarray, transform: tuple[float, float]) -> np.ndarray:
    """``max(0, slope · max(0, responses) + offset)``."""
    slope, offset = transform
    return np.clip(slope * np.clip(np.asarray(responses, dtype=float), 0, None) + offset, 0, None)


def _preferred(values: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(np.argmax(values), values.shape))


def _with_components(grid: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Units × radius × sf × orientation × (F0 - baseline, F1)."""
    f0, f1 = phase_modulation(grid)
    return np.stack([f0 - baseline.reshape(-1, 1, 1, 1), f1], axis=-1)


def ringach2002(grid: np.ndarray, levels: dict[str, np.ndarray], baseline: np.ndarray) -> pd.DataFrame:
    """Ringach et al. (2002): orientation tuning and response magnitudes at each unit's preferred radius and sf."""
    f0, f1 = phase_modulation(grid)
    orientation, rows = levels["orientation"], []
    for unit in range(len(grid)):
        r, s, o = _preferred(f0[unit])
        curve = f0[unit, r, s]
        bandwidth = orientation_bandwidth(curve, orientation, "hanning", 0.707, half=True)[0]
        rows.append((baseline[unit], f0[unit, r, s, o], curve.min(), f1[unit, r, s, o],
                     circular_variance(curve, orientation), bandwidth, orthogonal_preferred_ratio(curve)))
    table = pd.DataFrame(rows, columns=["baseline", "max_dc", "min_dc", "max_ac", "circular_variance", "bandwidth",
                                        "orthogonal_preferred_ratio"])
    with np.errstate(divide="ignore", invalid="ignore"):
        table["modulation_ratio"] = table["max_ac"] / table["max_dc"]
        table["orientation_selective"] = table["bandwidth"].notna().astype(float)
        table["circular_variance_bandwidth_ratio"] = table["circular_variance"] / table["bandwidth"]
        table["orthogonal_preferred_ratio_circular_variance_difference"] = (
            table["orthogonal_preferred_ratio"] - table["circular_variance"])
        table["orthogonal_preferred_ratio_bandwidth_ratio"] = table["orthogonal_preferred_ratio"] / table["bandwidth"]
    return table[table["max_dc"] > baseline + RESPONSE_THRESHOLD].reset_index(drop=True)


def devalois1982a(grid: np.ndarray, levels: dict[str, np.ndarray], baseline: np.ndarray) -> pd.DataFrame:
    """De Valois, Yund & Hepler (1982): preferred orientation (spline peak, in [-22.5, 157.5))."""
    f0 = grid.mean(axis=-1)
    preferred = np.array([orientation_bandwidth(f0[u][_preferred(f0[u])[:2]], levels["orientation"], "smooth", 0.5,
                                                half=False)[1] for u in range(len(grid))])
    preferred[preferred >= ORIENTATION_WRAP] -= 180
    keep = f0.reshape(len(grid), -1).max(axis=1) > baseline + RESPONSE_THRESHOLD
    return pd.DataFrame({"preferred_orientation": preferred[keep]})


def devalois1982b(grid: np.ndarray, levels: dict[str, np.ndarray], baseline: np.ndarray) -> pd.DataFrame:
    """De Valois, Albrecht & Thorell (1982): peak spatial frequency of the F0 or F1 curve, whichever is larger."""
    both = _with_components(grid, baseline)
    peaks = []
    for unit in range(len(grid)):
        r, _, o, c = _preferred(both[unit])
        peaks.append(spatial_frequency_tuning(both[unit, r, :, o, c], levels["spatial_frequency"], "smooth")[1])
    keep = both.reshape(len(grid), -1).max(axis=1) > RESPONSE_THRESHOLD
    return pd.DataFrame({"peak_spatial_frequency": np.array(peaks)[keep]})


def schiller1976c(grid: np.ndarray, levels: dict[str, np.ndarray], baseline: np.ndarray) -> pd.DataFrame:
    """Schiller, Finlay & Volman (1976): spatial-frequency bandwidth (%), and selectivity (a finite bandwidth)."""
    f0 = grid.mean(axis=-1)
    bandwidth = []
    for unit in range(len(grid)):
        r, _, o = _preferred(f0[unit])
        bandwidth.append(spatial_frequency_tuning(f0[unit, r, :, o], levels["spatial_frequency"], "smooth")[0])
    keep = f0.reshape(len(grid), -1).max(axis=1) > baseline + RESPONSE_THRESHOLD
    bandwidth_kept = np.array(bandwidth)[keep]
    return pd.DataFrame({"spatial_frequency_selective": np.isfinite(bandwidth_kept).astype(float),
                         "spatial_frequency_bandwidth": bandwidth_kept})


def cavanaugh2002a(grid: np.ndarray, levels: dict[str, np.ndarray], baseline: np.ndarray) -> pd.DataFrame:
    """Cavanaugh, Bair & Movshon (2002): surround suppression and receptive-field size from size tuning."""
    both = _with_components(grid, baseline)
    rows = []
    for unit in range(len(grid)):
        _, s, o, c = _preferred(both[unit])
        rows.append(size_tuning(both[unit, :, s, o, c], levels["radius"]))
    table = pd.DataFrame(rows, columns=["grating_summation_field", "surround_diameter",
                                        "surround_grating_summation_field_ratio", "surround_suppression_index"])
    table["strongly_suppressed"] = (table["surround_suppression_index"] >= 0.1).astype(float)
    keep = both.reshape(len(grid), -1).max(axis=1) > RESPONSE_THRESHOLD
    return table[keep].reset_index(drop=True)


Estimator = Callable[[np.ndarray, dict[str, np.ndarray], np.ndarray], pd.DataFrame]
#: Study → (grating set it needs, estimator).
ESTIMATORS: dict[str, tuple[str, Estimator]] = {
    "Ringach2002": ("orientation", ringach2002),
    "DeValois1982a": ("orientation", devalois1982a),
    "DeValois1982b": ("spatial_frequency", devalois1982b),
    "Schiller1976c": ("spatial_frequency", schiller1976c),
    "Cavanaugh2002a": ("size", cavanaugh2002a),
}


def estimate_properties(source: str, rates: np.ndarray, parameters: pd.DataFrame, baseline: np.ndarray
                        ) -> pd.DataFrame:
    """One row per responsive unit with the properties of study ``source`` (see `ESTIMATORS`), from firing
    ``rates`` (units × stimuli of the study's grating set) and each unit's ``baseline`` (blank) rate."""
    if source not in ESTIMATORS:
        raise UnknownNameError("V1 property study", source, ESTIMATORS)
    grid, levels = tuning_grid(rates, parameters)
    baseline = np.asarray(baseline, dtype=float).ravel()
    if len(baseline) != len(grid):
        raise InvalidInputError(f"one baseline per unit: got {len(baseline)} for {len(grid)} units")
    return ESTIMATORS[source][1](grid, levels, baseline)
