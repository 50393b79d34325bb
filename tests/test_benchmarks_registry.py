"""Benchmark registry: the five built-ins and clear errors for unknown names."""

import pytest

from brainalign.benchmarks.registry import get_benchmark, list_benchmarks
from brainalign.core.errors import UnknownNameError

REQUIRED = ["Kriegeskorte2008.hIT-rsa", "Kriegeskorte2008.mIT-rsa", "Net2Brain78.EVC-rsa", "Net2Brain78.IT-rsa",
            "Cowley2023.V4-ridge"]


def test_required_benchmarks_are_registered():
    assert set(REQUIRED) <= set(list_benchmarks())
    for identifier in REQUIRED:
        benchmark = get_benchmark(identifier)
        dataset, rest = identifier.split(".", 1)
        region, metric = rest.rsplit("-", 1)
        assert (benchmark.dataset, benchmark.region, benchmark.metric) == (dataset, region, metric)
        assert benchmark.version >= 1


def test_unknown_benchmark_names_the_value_and_the_choices():
    with pytest.raises(UnknownNameError) as info:
        get_benchmark("Kriegeskorte2008.hit-rsa")
    message = str(info.value)
    assert "'Kriegeskorte2008.hit-rsa'" in message
    assert "did you mean 'Kriegeskorte2008.hIT-rsa'" in message
    assert "Cowley2023.V4-ridge" in info.value.choices and f"({len(info.value.choices)} in all)" in message
