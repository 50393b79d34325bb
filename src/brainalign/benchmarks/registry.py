"""The benchmark registry: the built-in benchmarks plus any registered by other packages.

Other packages add benchmarks through the ``brainalign.benchmarks`` entry-point group (each entry point
is a `Benchmark` or a list of them).

>>> "Cowley2023.V4-ridge" in list_benchmarks()
True
"""

from __future__ import annotations

from importlib.metadata import entry_points

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.core.errors import InvalidInputError, UnknownNameError

KRIEGESKORTE = "Kriegeskorte2008"
NET2BRAIN = "Net2Brain78"
COWLEY = "Cowley2023"

BENCHMARKS: dict[str, Benchmark] = {}


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Add ``benchmark`` to the registry (an identifier registered twice must be the same definition)."""
    existing = BENCHMARKS.get(benchmark.identifier)
    if existing is not None and existing != benchmark:
        raise InvalidInputError(f"benchmark {benchmark.identifier!r} is already registered with another definition; "
                                "bump its version or choose another identifier")
    BENCHMARKS[benchmark.identifier] = benchmark
    return benchmark


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
              description="macaque V4, 50 neurons x 640 images with repeats; 5-fold ridge; r^2 / split-half ceiling"),
):
    register_benchmark(_benchmark)


def _load_entry_points() -> None:
    for ep in entry_points(group="brainalign.benchmarks"):
        loaded = ep.load()
        for benchmark in loaded if isinstance(loaded, list | tuple) else [loaded]:
            register_benchmark(benchmark)


def get_benchmark(identifier: str) -> Benchmark:
    """The benchmark registered as ``identifier`` (error lists the valid identifiers)."""
    _load_entry_points()
    if identifier not in BENCHMARKS:
        raise UnknownNameError("benchmark", identifier, BENCHMARKS)
    return BENCHMARKS[identifier]


def list_benchmarks() -> list[str]:
    """Identifiers of all registered benchmarks."""
    _load_entry_points()
    return sorted(BENCHMARKS)
