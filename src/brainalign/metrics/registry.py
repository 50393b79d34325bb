"""The metric registry: name → callable ``metric(source, target, **options) -> Score``.

Built-in metrics register themselves with :func:`register_metric`; other packages can add theirs
through the ``brainalign.metrics`` entry-point group.

>>> from brainalign.metrics.registry import register_metric, METRICS
>>> @register_metric("constant-demo")
... def constant(source, target):
...     '''Always 1 (an example).'''
...     return 1.0
>>> METRICS["constant-demo"](None, None)
1.0
>>> del METRICS["constant-demo"]
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from brainalign.core.errors import UnknownNameError

METRICS: dict[str, Callable] = {}
_BUILTIN_MODULES = (
    "brainalign.metrics.encoding.engine",
    "brainalign.metrics.encoding.variants",
    "brainalign.metrics.encoding.stacking",
    "brainalign.metrics.encoding.versa",
    "brainalign.metrics.similarity.rsa",
    "brainalign.metrics.similarity.cka",
    "brainalign.metrics.similarity.matching",
)


def register_metric(name: str) -> Callable[[Callable], Callable]:
    """Decorator: register a metric under ``name``."""

    def decorator(fn: Callable) -> Callable:
        METRICS[name] = fn
        return fn

    return decorator


def _load_all() -> None:
    import importlib

    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group="brainalign.metrics"):
        METRICS.setdefault(ep.name, ep.load())


def get_metric(name: str) -> Callable:
    """The metric registered as ``name``, with the valid names in the error when unknown."""
    _load_all()
    if name not in METRICS:
        raise UnknownNameError("metric", name, METRICS)
    return METRICS[name]


def list_metrics() -> list[str]:
    """Names of all registered metrics."""
    _load_all()
    return sorted(METRICS)
