"""The metric registry: name → `Metric` (``metric(source, target, *, splits, seed, ceiling, ...) -> Score``).

Built-in metrics register themselves with :func:`register_metric`; other packages add theirs through the
``brainalign.metrics`` entry-point group. A registered metric rejects options it does not have with an
`InvalidInputError` listing the valid ones (instead of a bare ``TypeError``).

>>> from brainalign.metrics.registry import register_metric, METRICS
>>> @register_metric("constant-demo")
... def constant(source, target, *, splits=None, seed=0, ceiling=None):
...     '''Always 1 (an example).'''
...     return 1.0
>>> METRICS["constant-demo"](None, None)
1.0
>>> METRICS["constant-demo"](None, None, n_split=3)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
brainalign.core.errors.InvalidInputError: metric 'constant-demo' has no option 'n_split'; valid options: ceiling, ...
>>> del METRICS["constant-demo"]
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.registry import Registry
from brainalign.core.score import Score
from brainalign.mapping.cv import Splits


class Metric(Protocol):
    """What every registered metric is: labelled source and target in, `Score` out, uniform keywords."""

    def __call__(self, source: xr.DataArray, target: Any, *, splits: Splits | None = None, seed: int = 0,
                 ceiling: np.ndarray | None = None, **options: Any) -> Score: ...


class MetricRegistry(Registry[Metric]):
    """The metric `Registry`, also indexable like a dict (``METRICS["ridge"]``, ``del METRICS[name]``)."""

    def __getitem__(self, name: str) -> Metric:
        return self.get(name)

    def __delitem__(self, name: str) -> None:
        self.unregister(name)


METRICS = MetricRegistry("metric", "brainalign.metrics", (
    "brainalign.metrics.encoding.engine",
    "brainalign.metrics.encoding.variants",
    "brainalign.metrics.encoding.stacking",
    "brainalign.metrics.encoding.versa",
    "brainalign.metrics.similarity.rsa",
    "brainalign.metrics.similarity.cka",
    "brainalign.metrics.similarity.matching",
))


def register_metric(name: str, *, replace: bool = False) -> Callable[[Callable], Callable]:
    """Decorator: register a metric under ``name``, checking its keyword options (see the module example)."""

    def decorator(fn: Callable) -> Callable:
        checked = _with_checked_options(fn, name)
        METRICS.register(name, checked, replace=replace)
        return checked

    return decorator


def _with_checked_options(fn: Callable, name: str) -> Callable:
    """``fn`` raising `InvalidInputError` (listing the valid options) for an unknown keyword option."""
    parameters = inspect.signature(fn).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return fn  # options are forwarded elsewhere; the callee checks them
    valid = sorted(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY
                   or (p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.default is not p.empty))

    @functools.wraps(fn)
    def metric(*args: Any, **options: Any) -> Any:
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise InvalidInputError(f"metric {name!r} has no option {', '.join(map(repr, unknown))}; "
                                    f"valid options: {', '.join(valid)}")
        return fn(*args, **options)

    return metric


def get_metric(name: str) -> Metric:
    """The metric registered as ``name``, with the valid names in the error when unknown.

    >>> get_metric("ridge").__name__
    'ridge_encoding'
    """
    return METRICS.get(name)


def list_metrics() -> list[str]:
    """Names of all registered metrics.

    >>> "versa" in list_metrics()
    True
    """
    return METRICS.names()
