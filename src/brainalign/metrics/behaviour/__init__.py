"""Behavioural metrics: accuracy, shape bias, error consistency (Geirhos et al. 2019, 2021), I2n (Rajalingham et
al. 2018, as Brain-Score computes it), triplet odd-one-out accuracy (Hebart et al. 2020, 2023)."""

from brainalign.metrics.behaviour.accuracy import accuracy
from brainalign.metrics.behaviour.error_consistency import error_consistency, human_consistency
from brainalign.metrics.behaviour.i2n import i2n
from brainalign.metrics.behaviour.odd_one_out import triplet_accuracy
from brainalign.metrics.behaviour.shape_bias import shape_bias

__all__ = ["accuracy", "error_consistency", "human_consistency", "i2n", "shape_bias", "triplet_accuracy"]
