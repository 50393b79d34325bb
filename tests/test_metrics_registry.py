"""The metric registry: lookups, entry in core.Registry, uniform keywords, option checks."""

import inspect

import numpy as np
import pytest

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.registry import Registry
from brainalign.data.synthetic import simulated_brain
from brainalign.metrics.registry import METRICS, get_metric, list_metrics, register_metric

OURS = ["ridge", "pls", "ols", "neuron-to-neuron", "reverse-ridge", "bidirectional-ridge", "spantime-ridge",
        "spantime-pls", "stacked", "versa", "one-to-one", "semi-matching", "soft-matching"]


def test_registry_is_a_core_registry_with_dict_access():
    assert isinstance(METRICS, Registry) and METRICS.kind == "metric"
    assert METRICS.entry_point_group == "brainalign.metrics"
    assert set(OURS) <= set(list_metrics())
    assert get_metric("ridge") is METRICS["ridge"]
    with pytest.raises(UnknownNameError, match="did you mean 'ridge'"):
        get_metric("ridg")


@pytest.mark.parametrize("name", OURS)
def test_uniform_keywords(name):
    parameters = inspect.signature(get_metric(name)).parameters
    for keyword in ("splits", "seed", "ceiling"):
        assert parameters[keyword].default in (None, 0), (name, keyword)


def test_unknown_option_lists_the_valid_ones():
    brain = simulated_brain(n_stimuli=40, n_features=3, n_neuroids=2)
    with pytest.raises(InvalidInputError, match=r"'ridge' has no option 'inner_folds'; valid options: alphas, "
                                                r"ceiling, inner_cv, n_splits, seed, splits"):
        get_metric("ridge")(brain.features, brain.responses, inner_folds=3)
    with pytest.raises(InvalidInputError, match=r"'versa' has no option 'dtype'.*method"):
        get_metric("versa")(brain.features, brain.responses, dtype="float64")
    with pytest.raises(InvalidInputError, match="'spantime-pls' has no option 'backend'"):
        get_metric("spantime-pls")(brain.features, brain.responses, backend="torch")


def test_metrics_without_a_ceiling_say_so():
    brain = simulated_brain(n_stimuli=40, n_features=3, n_neuroids=2)
    for name in ("versa", "semi-matching", "bidirectional-ridge"):
        with pytest.raises(InvalidInputError, match="ceiling"):
            get_metric(name)(brain.features, brain.responses, ceiling=np.ones(2))


def test_duplicate_registration_is_refused_unless_replaced():
    @register_metric("dup-demo")
    def first(source, target, *, seed=0):
        return 1.0

    try:
        with pytest.raises(InvalidInputError, match="already registered"):
            register_metric("dup-demo")(lambda source, target: 2.0)
        register_metric("dup-demo", replace=True)(lambda source, target: 2.0)
        assert METRICS["dup-demo"](None, None) == 2.0
    finally:
        del METRICS["dup-demo"]
    assert "dup-demo" not in METRICS
