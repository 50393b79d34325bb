"""`Registry`: the one plugin mechanism, for metrics, datasets, benchmarks and model sources.

Built-ins register themselves with a decorator (or :meth:`Registry.register`) when their module is imported;
other packages add theirs through a Python entry-point group, scanned once, on first lookup (like xarray's
backends). Duplicate policy: registering a name again with a different object is an error unless
``replace=True``; an entry point whose name is already taken is skipped with a warning.

>>> colours = Registry("colour")
>>> @colours.register("red")
... def red():
...     return "#f00"
>>> colours.get("red")()
'#f00'
>>> colours.names()
['red']
>>> colours.get("rde")
Traceback (most recent call last):
...
brainalign.core.errors.UnknownNameError: unknown colour 'rde'; did you mean 'red'? valid: red
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points
from typing import Generic, TypeVar, overload

from brainalign.core.errors import InvalidInputError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names → objects of one ``kind``, filled by built-in modules and an entry-point group.

    ``builtin_modules`` are imported on first lookup (they register their entries as a side effect), so
    importing the registry itself stays cheap and free of import cycles.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None, builtin_modules: Sequence[str] = ()):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.builtin_modules = tuple(builtin_modules)
        self._entries: dict[str, T] = {}
        self._loaded = False

    @overload
    def register(self, name: str, obj: None = None, *, replace: bool = False) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, obj: T, *, replace: bool = False) -> T: ...

    def register(self, name: str, obj: T | None = None, *, replace: bool = False) -> T | Callable[[T], T]:
        """Register ``obj`` as ``name``; without ``obj``, a decorator that does."""
        if obj is None:
            def decorator(decorated: T) -> T:
                return self.register(name, decorated, replace=replace)

            return decorator
        existing = self._entries.get(name)
        if existing is not None and existing is not obj and existing != obj and not replace:
            raise InvalidInputError(f"{self.kind} {name!r} is already registered with another definition; "
                                    "choose another name (or pass replace=True)")
        self._entries[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        """Remove ``name`` (an `UnknownNameError` when it is not registered)."""
        self.get(name)
        del self._entries[name]

    def get(self, name: str) -> T:
        """The entry registered as ``name``; an unknown name lists the valid ones with a did-you-mean."""
        self._load()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.kind, str(name), self._entries) from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs, sorted by name."""
        self._load()
        return sorted(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self.builtin_modules:
            importlib.import_module(module)
        if self.entry_point_group is None:
            return
        for ep in entry_points(group=self.entry_point_group):
            if ep.name in self._entries:
                warnings.warn(f"{self.kind} {ep.name!r} from entry point {ep.value} is ignored: the name is taken",
                              stacklevel=2)
                continue
            self._entries[ep.name] = ep.load()
