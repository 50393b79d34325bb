"""Behavioural metrics: accuracy, shape bias, error consistency (Geirhos et al. 2019, 2021)."""

from brainalign.metrics.behaviour.accuracy import accuracy
from brainalign.metrics.behaviour.error_consistency import error_consistency, human_consistency
from brainalign.metrics.behaviour.shape_bias import shape_bias

__all__ = ["accuracy", "error_consistency", "human_consistency", "shape_bias"]
