"""V1 property estimators and the distribution comparison against closed-form answers and scipy."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.special import iv
from scipy.stats import ks_2samp

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.metrics.properties.distribution import (
    distribution_similarity,
    histogram,
    ks_similarity,
    property_ceiling,
)
from brainalign.metrics.properties.estimation import (
    estimate_properties,
    firing_rate_transform,
    firing_rates,
    receptive_field_centres,
    tuning_grid,
    units_at,
)
from brainalign.metrics.properties.tuning import (
    circular_variance,
    orientation_bandwidth,
    orthogonal_preferred_ratio,
    phase_modulation,
    size_tuning,
    spatial_frequency_tuning,
)


def von_mises(theta, preferred, kappa):
    return np.exp(kappa * (np.cos(np.deg2rad(2 * (theta - preferred))) - 1))


@pytest.mark.parametrize("kappa", [0.5, 1.0, 3.0])
def test_circular_variance_of_von_mises_is_one_minus_bessel_ratio(kappa):
    theta = np.arange(0, 180, 15.0)  # 12 orientations: the discrete sum is the integral up to I_11/I_0 aliasing
    assert circular_variance(von_mises(theta, 40, kappa), theta) == pytest.approx(1 - iv(1, kappa) / iv(0, kappa),
                                                                                  abs=1e-6)


@pytest.mark.parametrize(("kappa", "preferred"), [(2.0, 60.0), (6.0, 135.0)])
def test_orientation_bandwidth_is_the_von_mises_half_width(kappa, preferred):
    theta = np.arange(0, 180, 5.0)
    half_width = np.rad2deg(0.5 * np.arccos(1 + np.log(0.707) / kappa))  # where exp(kappa (cos 2d - 1)) = 0.707
    bandwidth, peak = orientation_bandwidth(von_mises(theta, preferred, kappa), theta, smoothing=None)
    assert peak == preferred
    assert bandwidth == pytest.approx(half_width, abs=1.0)  # the spline is read at 1-degree steps
    full, _ = orientation_bandwidth(von_mises(theta, preferred, kappa), theta, smoothing=None, half=False)
    assert full == pytest.approx(2 * bandwidth, abs=1.0)


def test_untuned_curve_has_no_bandwidth_and_orthogonal_ratio():
    theta = np.arange(0, 180, 15.0)
    assert np.isnan(orientation_bandwidth(np.ones(12) + 1e-3 * np.cos(np.deg2rad(2 * theta)), theta)[0])
    curve = 1 + 0.5 * np.cos(np.deg2rad(2 * (theta - 30)))
    assert orthogonal_preferred_ratio(curve) == pytest.approx(0.5 / 1.5)
    with pytest.raises(UnknownNameError, match="hanning"):
        orientation_bandwidth(curve, theta, smoothing="boxcar")
    with pytest.raises(InvalidInputError, match="increase"):
        circular_variance(curve, theta[::-1])


@pytest.mark.parametrize(("peak", "sigma"), [(2.0, 0.8), (1.0, 1.2)])
def test_spatial_frequency_tuning_of_log_gaussian(peak, sigma):
    sf = 2.0 ** np.arange(-1.5, 4.01, 0.25)  # 23 frequencies, quarter octaves
    curve = np.exp(-np.log2(sf / peak) ** 2 / (2 * sigma ** 2))
    half = sigma * np.sqrt(-2 * np.log(0.707))  # octaves from the peak to 0.707 of it
    bandwidth, fitted_peak = spatial_frequency_tuning(curve, sf, smoothing=None)
    assert np.log2(fitted_peak) == pytest.approx(np.log2(peak), abs=0.06)  # 100-point grid over 5.5 octaves
    assert bandwidth == pytest.approx(100 * 2.0 ** (-2 * half), rel=0.08)
    low_pass = spatial_frequency_tuning(np.exp(-sf), sf)[0]
    assert np.isnan(low_pass)  # never falls on the low side: no bandwidth


def test_size_tuning_of_a_difference_of_gaussians():
    def response(radius):  # centre minus broader surround, integrated over the disc
        return (1 - np.exp(-radius ** 2)) - 0.5 * (1 - np.exp(-radius ** 2 / 9))

    radius = np.geomspace(0.05, 40, 400)
    best = np.sqrt(9 * np.log(18) / 8)  # d/dR = 0: 2R e^{-R^2} = (R/9) e^{-R^2/9}
    top, plateau = response(best), 0.5
    summation, surround, ratio, suppression = size_tuning(response(radius), radius)
    assert suppression == pytest.approx((top - plateau) / top, abs=1e-4)
    gsf = 2 * brentq(lambda r: response(r) - 0.95 * top, 0.05, best)
    step = radius[1] / radius[0]
    assert gsf <= summation <= gsf * step ** 2
    surround_radius = brentq(lambda r: response(r) - plateau * 1.05, best, 40)
    assert 2 * surround_radius <= surround <= 2 * surround_radius * step ** 2
    assert ratio == pytest.approx(surround / summation)
    flat = size_tuning(np.array([1, 2, 3, 3.0]), np.array([1, 2, 3, 4.0]))
    assert np.isnan(flat[0]) and flat[3] == 0


def test_phase_modulation_matches_the_fourier_amplitude():
    phase = np.deg2rad(np.arange(0, 360, 45.0))
    responses = np.stack([2 + 1.5 * np.sin(phase + 0.3), 4 + 0 * phase])
    f0, f1 = phase_modulation(responses)
    assert np.allclose(f0, [2, 4]) and np.allclose(f1, [1.5, 0])


def test_ks_similarity_is_one_minus_ks_statistic_when_the_end_bins_are_empty():
    rng = np.random.default_rng(0)
    model, data = rng.integers(1, 9, 300), rng.integers(2, 8, 200)
    bins = np.arange(-0.5, 10.5)  # integer data: the binned CDFs are the empirical CDFs
    expected = 1 - ks_2samp(model, data).statistic
    assert ks_similarity(histogram(model, bins), histogram(data, bins)) == pytest.approx(expected)
    q = np.array([0.1, 0.3, 0.6])  # mass in both end bins: divided by the largest possible distance, 1 - 0.1
    assert ks_similarity(np.array([0.0, 0.0, 1.0]), q) == pytest.approx(1 - 0.4 / 0.9)


def test_histogram_clips_to_the_bin_range_and_ignores_nan():
    assert histogram(np.array([-5, 0.5, 7, np.nan]), np.array([0, 1, 2.0])).tolist() == [2 / 3, 1 / 3]
    with pytest.raises(InvalidInputError, match="increasing"):
        histogram(np.ones(3), np.array([1.0, 0.0]))


def test_distribution_similarity_ranks_a_shifted_model_lower_and_ceilings_are_high():
    rng = np.random.default_rng(1)
    bins = np.linspace(0, 1, 14)
    data = rng.beta(2, 5, 300)
    same = distribution_similarity(rng.beta(2, 5, 1000), data, bins, n_samples=200)
    shifted = distribution_similarity(rng.beta(5, 2, 1000), data, bins, n_samples=200)
    assert 0 <= shifted.raw < 0.5 < same.raw <= 1 and len(same.per_split) == 200
    for method in ("bootstrap", "split-half"):
        assert 0.8 < property_ceiling(data, bins, method, n_samples=100) < 1
    assert distribution_similarity(np.full(10, np.nan), data, bins).raw == 0
    with pytest.raises(UnknownNameError, match="split-half"):
        property_ceiling(data, bins, "jackknife")


def grating_table(**levels):
    names = ("radius", "spatial_frequency", "orientation", "phase")
    grid = np.meshgrid(*(np.asarray(levels[n], dtype=float) for n in names), indexing="ij")
    return pd.DataFrame({n: g.ravel() for n, g in zip(names, grid, strict=True)})


def test_tuning_grid_orders_shuffled_stimuli_and_refuses_gaps():
    table = grating_table(radius=[1, 2], spatial_frequency=[1], orientation=[0, 45, 90, 135], phase=[0, 180])
    values = np.arange(len(table), dtype=float)[None]
    order = np.random.default_rng(0).permutation(len(table))
    grid, levels = tuning_grid(values[:, order], table.iloc[order])
    assert np.array_equal(grid.ravel(), values.ravel()) and levels["radius"].tolist() == [1, 2]
    with pytest.raises(InvalidInputError, match="full grid"):
        tuning_grid(values[:, 1:], table.iloc[1:])


def test_ringach_properties_of_simulated_simple_cells():
    theta, phase = np.arange(0, 180, 15.0), np.arange(0, 360, 45.0)
    table = grating_table(radius=[0.5, 1], spatial_frequency=[1, 2], orientation=theta, phase=phase)
    gain = np.where(table["spatial_frequency"] == 2, 1.0, 0.5) * np.where(table["radius"] == 1, 1.0, 0.8)
    units, expected_cv = [], []
    for preferred, kappa in ((30, 1.0), (120, 3.0)):
        tuning = 40 * von_mises(table["orientation"].to_numpy(), preferred, kappa)
        units.append(gain * tuning * (1 + 0.5 * np.cos(np.deg2rad(table["phase"].to_numpy()))))
        expected_cv.append(1 - iv(1, kappa) / iv(0, kappa))
    units.append(np.full(len(table), 3.0))  # weak: below baseline + 5 spikes/s, dropped
    table_out = estimate_properties("Ringach2002", np.array(units), table, baseline=np.array([1.0, 1.0, 1.0]))
    assert len(table_out) == 2
    assert np.allclose(table_out["circular_variance"], expected_cv, atol=1e-6)
    assert np.allclose(table_out["max_dc"], 40) and np.allclose(table_out["modulation_ratio"], 0.5)
    assert np.allclose(table_out["orthogonal_preferred_ratio"], [np.exp(-2), np.exp(-6)])
    pref = estimate_properties("DeValois1982a", np.array(units), table, baseline=np.ones(3))
    assert pref["preferred_orientation"].tolist() == [30.0, 120.0]


def test_receptive_fields_and_firing_rate_transform():
    positions = np.stack([np.repeat([-1.0, 0, 1], 3), np.tile([-1.0, 0, 1], 3)], axis=1)
    rf_map = np.zeros((2, 9))
    rf_map[0, 4], rf_map[1, [5, 8]] = 2.0, 1.0
    centres = receptive_field_centres(rf_map + 0.5, positions, np.full(2, 0.5))  # the blank is subtracted
    assert np.allclose(centres, [[0, 0], [0.5, 1]]) and units_at(centres, (0.0, 0.0)).tolist() == [0]
    table = grating_table(radius=[1], spatial_frequency=[1], orientation=[0, 90], phase=[0, 180])
    peaks = np.array([2.0, 4.0, 6.0])
    activations = peaks[:, None] * np.array([[1, 1, 0, 0]])  # phase-mean peak = the peak
    blank = np.array([0.5, 1.0, 1.5])
    transform = firing_rate_transform(activations, table, blank)
    assert np.allclose(firing_rates(np.array([1.0, 4.0]), transform), [0.82, 33.8])  # medians -> V1 medians
