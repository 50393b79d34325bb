"""Single-neuron tuning properties from one tuning curve, as Marques et al. (2021) define them (Brain-Score's V1).

* :func:`circular_variance` (Ringach et al. 2002): ``1 - |Σ r_k e^{2iθ_k}| / Σ |r_k|``.
* :func:`orientation_bandwidth`: the curve, repeated over three periods, smoothed with a 5-tap window and
  interpolated by a cubic spline at 1° steps; the preferred orientation is the spline's peak in [0, 180) and the
  bandwidth the distance between the nearest points on either side that fall to ``threshold`` × peak (half of it
  with ``half=True``, Ringach's half-width at 1/√2); NaN when wider than 180°.
* :func:`orthogonal_preferred_ratio`: response at the orientation 90° from the preferred over the preferred one.
* :func:`spatial_frequency_tuning` (De Valois et al. 1982b, Schiller et al. 1976): the edge-padded curve smoothed and
  spline-interpolated on 100 points of log2 frequency; the peak frequency, and the bandwidth as low/high cut-off
  ratio × 100 at ``threshold`` × peak (NaN when the curve does not fall that far on both sides).
* :func:`size_tuning` (Cavanaugh et al. 2002): surround suppression index ``(peak - plateau) / peak`` (plateau:
  the largest size); for suppressed cells (index > 0.1) the grating summation field (smallest diameter reaching 95 %
  of the peak), the surround diameter (smallest diameter beyond the peak within 5 % of the plateau) and their ratio.
* :func:`phase_modulation`: mean (F0, "DC") and first harmonic amplitude (F1, "AC") over equally spaced phases.

>>> theta = np.arange(0, 180, 15.0)
>>> round(float(circular_variance(np.ones(12), theta)), 6), round(float(circular_variance(theta == 30, theta)), 6)
(1.0, 0.0)
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import UnivariateSpline

from brainalign.core.errors import InvalidInputError, UnknownNameError

#: 5-tap smoothing windows (normalised to sum 1 before use).
WINDOWS: dict[str, np.ndarray] = {
    "hanning": np.array([0, 2 / 5, 1, 2 / 5, 0]),
    "smooth": np.array([0, 1 / 5, 1, 1 / 5, 0]),
    "flat": np.ones(5),
    "triangle": np.array([0.5, 0.75, 1, 0.75, 0.5]),
}


def _window(smoothing: str | None) -> np.ndarray | None:
    if smoothing is None:
        return None
    if smoothing not in WINDOWS:
        raise UnknownNameError("smoothing window", smoothing, WINDOWS)
    return WINDOWS[smoothing] / WINDOWS[smoothing].sum()


def _curve(curve: np.ndarray, axis: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    curve, axis = np.asarray(curve, dtype=float).ravel(), np.asarray(axis, dtype=float).ravel()
    if curve.shape != axis.shape or len(curve) < 4:
        raise InvalidInputError(f"{what}: need one response per value and at least 4 values; got {len(curve)} "
                                f"responses for {len(axis)} values")
    if np.any(np.diff(axis) <= 0):
        raise InvalidInputError(f"{what}: the values must increase strictly; got {axis.tolist()}")
    return curve, axis


def circular_variance(curve: np.ndarray, orientation: np.ndarray) -> float:
    """Ringach's circular variance of an orientation tuning curve (orientations in degrees); 0 = one orientation
    only, 1 = untuned."""
    curve, orientation = _curve(curve, orientation, "circular_variance")
    resultant = curve @ np.exp(2j * np.deg2rad(orientation))
    return float(1 - np.abs(resultant) / np.abs(curve).sum())


def orientation_bandwidth(curve: np.ndarray, orientation: np.ndarray, smoothing: str | None = "hanning",
                          threshold: float = 0.707, half: bool = True) -> tuple[float, float]:
    """(bandwidth, preferred orientation) in degrees of a curve sampled on [0, 180); see the module docstring.

    >>> theta = np.arange(0, 180, 15.0)
    >>> bandwidth, preferred = orientation_bandwidth(np.exp(2 * np.cos(np.deg2rad(2 * (theta - 60)))), theta)
    >>> preferred
    60.0
    """
    curve, orientation = _curve(curve, orientation, "orientation_bandwidth")
    extended = np.tile(curve, 3)
    window = _window(smoothing)
    if window is not None:
        extended = np.convolve(window, extended, mode="same")
    spline = UnivariateSpline(np.concatenate([orientation - 180, orientation, orientation + 180]), extended, s=0)
    grid = np.arange(-180.0, 360.0)
    fitted = spline(grid)
    peak = 180 + int(np.argmax(fitted[180:360]))
    below = np.flatnonzero(fitted <= fitted[peak] * threshold)
    left, right = below[below < peak], below[below > peak]
    bandwidth = grid[right[0]] - grid[left[-1]] if len(left) and len(right) else np.nan
    if bandwidth > 180:
        bandwidth = np.nan
    return float(bandwidth / 2 if half else bandwidth), float(grid[peak])


def orthogonal_preferred_ratio(curve: np.ndarray) -> float:
    """Response 90° from the preferred orientation over the preferred response (curve evenly sampled on 180°).

    >>> orthogonal_preferred_ratio(np.array([4.0, 3, 1, 3]))
    0.25
    """
    curve = np.asarray(curve, dtype=float).ravel()
    preferred = int(np.argmax(curve))
    return float(curve[(preferred + len(curve) // 2) % len(curve)] / curve[preferred])


def spatial_frequency_tuning(curve: np.ndarray, spatial_frequency: np.ndarray, smoothing: str | None = "smooth",
                             threshold: float = 0.707) -> tuple[float, float]:
    """(bandwidth as low/high cut-off ratio in %, peak frequency) of a spatial-frequency tuning curve.

    >>> sf = 2.0 ** np.arange(-2, 4.5, 0.5)
    >>> bandwidth, peak = spatial_frequency_tuning(np.exp(-np.log2(sf / 2) ** 2), sf, smoothing=None)
    >>> round(peak, 1)
    2.0
    """
    curve, frequency = _curve(curve, spatial_frequency, "spatial_frequency_tuning")
    window = _window(smoothing)
    if window is not None:
        padded = np.concatenate([curve[:1], curve[:1], curve, curve[-1:], curve[-1:]])
        curve = np.convolve(window, padded, mode="valid")
    log_sf = np.log2(frequency)
    grid = np.linspace(log_sf[0], log_sf[-1], 100)
    fitted = UnivariateSpline(log_sf, curve, s=0)(grid)
    peak = int(np.argmax(fitted))
    below = np.flatnonzero(fitted <= fitted[peak] * threshold)
    left, right = below[below < peak], below[below > peak]
    low = grid[left[-1]] if len(left) else np.nan
    high = grid[right[0]] if len(right) else np.nan
    return float(2.0 ** (low - high) * 100), float(2.0 ** grid[peak])


def size_tuning(curve: np.ndarray, radius: np.ndarray) -> tuple[float, float, float, float]:
    """(grating summation field, surround diameter, their ratio, surround suppression index) of a size tuning
    curve over grating ``radius`` (diameters in the units of 2 × radius); the first three are NaN for cells
    suppressed by 10 % or less.

    >>> size_tuning(np.array([1.0, 4, 10, 6, 5, 5]), np.array([0.25, 0.5, 1, 2, 4, 8]))
    (2.0, 8.0, 4.0, 0.5)
    """
    curve, radius = _curve(curve, radius, "size_tuning")
    preferred = int(np.argmax(curve))
    peak, plateau = curve[preferred], curve[-1]
    suppression = float((peak - plateau) / peak)
    if not (peak > 0 and suppression > 0.1):
        return np.nan, np.nan, np.nan, suppression
    summation_field = 2 * radius[np.flatnonzero(curve >= 0.95 * peak)[0]]
    beyond = np.flatnonzero((curve <= plateau + 0.05 * abs(plateau)) & (radius > radius[preferred]))
    surround = 2 * radius[beyond[0]]
    return float(summation_field), float(surround), float(surround / summation_field), suppression


def phase_modulation(responses: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(F0, F1): the mean over equally spaced phases along ``axis`` and twice the first Fourier amplitude.

    >>> f0, f1 = phase_modulation(3 + 2 * np.cos(np.deg2rad(np.arange(0, 360, 45.0))))
    >>> round(float(f0), 6), round(float(f1), 6)
    (3.0, 2.0)
    """
    responses = np.asarray(responses, dtype=float)
    n = responses.shape[axis]
    return responses.mean(axis=axis), 2 * np.abs(np.fft.fft(responses, axis=axis).take(1, axis=axis)) / n
