"""The benchmark registry: the built-in benchmarks plus any registered by other packages.

Other packages add benchmarks through the ``brainalign.benchmarks`` entry-point group (entry point name: the
benchmark identifier; object: its `Benchmark`).

>>> "Cowley2023.V4-ridge" in list_benchmarks()
True
"""

from __future__ import annotations

from pathlib import Path

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.core.errors import InvalidInputError
from brainalign.core.registry import Registry

KRIEGESKORTE = "Kriegeskorte2008"
NET2BRAIN = "Net2Brain78"
COWLEY = "Cowley2023"

BENCHMARKS: Registry[Benchmark] = Registry(
    "benchmark", "brainalign.benchmarks",
    builtin_modules=("brainalign.benchmarks.brainscore_protocol", "brainalign.benchmarks.behaviour",
                     "brainalign.benchmarks.v1_properties",
                     "brainalign.benchmarks.language",
                     "brainalign.benchmarks.neural",
                     "brainalign.benchmarks.scenes",
                     "brainalign.benchmarks.video"))


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Add ``benchmark`` to the registry (an identifier registered twice must be the same definition).

    >>> b = Benchmark("Demo.x-rsa", "Kriegeskorte2008", "mIT", "rsa", "rdms")
    >>> register_benchmark(b) is get_benchmark("Demo.x-rsa")
    True
    >>> BENCHMARKS.unregister("Demo.x-rsa")
    """
    if not isinstance(benchmark, Benchmark):
        raise InvalidInputError(f"register_benchmark expects a Benchmark; got {type(benchmark).__name__}")
    try:
        return BENCHMARKS.register(benchmark.identifier, benchmark)
    except InvalidInputError:
        raise InvalidInputError(f"benchmark {benchmark.identifier!r} is already registered with another definition; "
                                "bump its version or choose another identifier") from None


for _benchmark in (
    Benchmark("Kriegeskorte2008.hIT-rsa", KRIEGESKORTE, "hIT", "rsa", "rdms",
              description="human IT fMRI RDMs, 4 subjects x 2 sessions; Spearman RSA; LOSO noise ceiling"),
    Benchmark("Kriegeskorte2008.mIT-rsa", KRIEGESKORTE, "mIT", "rsa", "rdms",
              description="monkey IT RDM from 674 neurons; Spearman RSA; no ceiling (one RDM)"),
    Benchmark("Net2Brain78.EVC-rsa", NET2BRAIN, "EVC", "rsa", "rdms",
              description="human early visual cortex fMRI RDMs, 15 subjects; Spearman RSA; LOSO noise ceiling"),
    Benchmark("Net2Brain78.IT-rsa", NET2BRAIN, "IT", "rsa", "rdms",
              description="human IT fMRI RDMs, 15 subjects; Spearman RSA; LOSO noise ceiling"),
    Benchmark("Cowley2023.V4-ridge", COWLEY, "V4", "ridge", "responses", selection={"session": "210325"},
              ceiling="split-half",
              description="macaque V4, 50 neurons x 640 images with repeats; 5-fold ridge; score = median over "
                          "neurons of r·|r| / split-half reliability (raw = median r)"),
):
    register_benchmark(_benchmark)


def get_benchmark(identifier: str) -> Benchmark:
    """The benchmark registered as ``identifier`` (error lists the valid identifiers), or the one a benchmark file
    at that path describes (``brainalign benchmark create``)."""
    if identifier.endswith(".toml") and Path(identifier).is_file():
        from brainalign.benchmarks.user import load_benchmark_file

        return load_benchmark_file(identifier)
    return BENCHMARKS.get(identifier)


def list_benchmarks() -> list[str]:
    """Identifiers of all registered benchmarks."""
    return BENCHMARKS.names()
