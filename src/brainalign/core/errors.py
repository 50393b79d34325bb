"""Errors that say what was wrong and what would be valid."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BrainAlignError(Exception):
    """Base class of every error brainalign raises on purpose."""


class InvalidInputError(BrainAlignError, ValueError):
    """An argument or array is malformed (shape, NaN, mismatched stimulus ids, ...)."""


class UnknownNameError(BrainAlignError, KeyError):
    """A name (model, benchmark, layer, metric, dataset, ...) that is not registered.

    >>> error = UnknownNameError("benchmark", "Kriegeskorte2008.hit-rsa", ["Kriegeskorte2008.hIT-rsa"])
    >>> str(error)  # doctest: +ELLIPSIS
    "unknown benchmark 'Kriegeskorte2008.hit-rsa'; did you mean 'Kriegeskorte2008.hIT-rsa'? valid: ..."
    """

    def __init__(self, kind: str, name: str, choices: Iterable[str]):
        self.kind, self.name, self.choices = kind, name, sorted(choices)
        super().__init__(str(self))

    def __str__(self) -> str:
        close = difflib.get_close_matches(self.name, self.choices, n=1, cutoff=0.6)
        if not close:
            lowered = {c.lower(): c for c in self.choices}
            close = [lowered[self.name.lower()]] if self.name.lower() in lowered else []
        hint = f"; did you mean {close[0]!r}?" if close else ";"
        shown = ", ".join(self.choices[:30]) + (f", ... ({len(self.choices)} in all)" if len(self.choices) > 30 else "")
        return f"unknown {self.kind} {self.name!r}{hint} valid: {shown}"


class OfflineError(BrainAlignError, ConnectionError):
    """A file is in neither the mirror nor the cache, and downloading it failed."""
