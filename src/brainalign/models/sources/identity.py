"""What identifies a user model's outputs in caches: its content, never its source text or object identity.

- ``module_checksum``: sha256 of a module's state dict (names, shapes, dtypes and the bytes of every parameter and
  buffer, integer and 0-d buffers such as BatchNorm's ``num_batches_tracked`` included).
- ``module_identity``: the state dict plus the structure (every submodule's class, ``repr`` hyperparameters and
  plain attributes) and the code of every ``forward``.
- ``callable_identity``: a function's compiled code plus every value it captures — defaults, closure cells and the
  globals it reads (arrays, tensors, modules and functions by content; other modules by name and version). A
  captured value without a content hash (e.g. an open file or a tokenizer object) needs an explicit ``version``.

>>> import numpy as np
>>> weights = np.ones(3)
>>> def scaled(x, w=weights):
...     return x * w
>>> before = callable_identity(scaled)
>>> weights[0] = 2.0
>>> callable_identity(scaled) == before
False
"""

from __future__ import annotations

import dataclasses
import dis
import functools
import hashlib
import os
import sys
import sysconfig
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import content_hash

_PLAIN = (type(None), bool, int, float, complex, str, bytes)
# Code installed here (the standard library, site-packages) is identified by name and package version, not read.
_LIBRARY_DIRS = tuple(sorted({os.path.abspath(sysconfig.get_paths()[key]) + os.sep
                              for key in ("stdlib", "platstdlib", "purelib", "platlib")}))


def module_checksum(module: torch.nn.Module) -> str:
    """sha256 of a module's parameters and buffers (names, shapes, dtypes and values).

    >>> net = torch.nn.BatchNorm1d(2)
    >>> before = module_checksum(net)
    >>> _ = net.train()(torch.randn(4, 2))  # updates running statistics and num_batches_tracked
    >>> module_checksum(net) == before
    False
    """
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(_tensor_bytes(tensor))
    return digest.hexdigest()


def module_identity(module: torch.nn.Module) -> str:
    """A hash of ``module_checksum`` and the module's structure and code: each submodule's class, ``repr``
    (hyperparameters), plain attributes and ``forward`` code (values it cannot hash are left out).

    >>> a, b = torch.nn.Dropout(0.1), torch.nn.Dropout(0.5)
    >>> module_checksum(a) == module_checksum(b), module_identity(a) == module_identity(b)
    (True, False)
    """
    return content_hash(module_checksum(module), _Fingerprint(strict=False).module_structure(module), length=64)


def callable_identity(function: Callable, version: str | None = None) -> str:
    """``module.qualname:hash`` of ``function``'s code and captured values (and ``version`` when given).

    Without ``version``, a captured value that has no content hash raises `InvalidInputError` naming it; with
    ``version`` such values are left out and ``version`` stands for them (change it whenever the callable's
    behaviour changes).

    >>> callable_identity(callable_identity).startswith("brainalign.models.sources.identity.callable_identity:")
    True
    """
    name = f"{getattr(function, '__module__', None) or ''}.{_qualname(function)}"
    try:
        fingerprint = _Fingerprint(strict=True).value(function)
    except _NoContentHash as error:
        if version is None:
            raise InvalidInputError(
                f"callable {name!r} cannot be identified by its content: {error}; pass version='...' (any string; "
                "change it whenever the callable's behaviour changes) so cached features are told apart"
            ) from None
        fingerprint = None
    parts = [fingerprint] if version is None else [fingerprint, version]
    return f"{name}:{content_hash(*parts)}"


class _NoContentHash(Exception):
    """A captured value has no content hash (message: what and where)."""


def _qualname(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__qualname__


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    """The raw bytes of a tensor of any dtype and shape (0-d included)."""
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes()


class _Fingerprint:
    """Builds JSON-able descriptions of values by content. ``strict``: raise `_NoContentHash` on a value it cannot
    describe (else describe it by its type only). Functions already on the path are described by name (recursion)."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.active: set[int] = set()

    def value(self, value: Any, where: str = "") -> Any:
        if isinstance(value, _PLAIN):
            return [type(value).__name__, value if not isinstance(value, bytes) else value.hex()]
        if isinstance(value, (tuple, list)):
            return [type(value).__name__, [self.value(v, where) for v in value]]
        if isinstance(value, (set, frozenset)):
            return ["set", sorted(content_hash(self.value(v, where)) for v in value)]
        if isinstance(value, dict):
            return ["dict", [[self.value(k, where), self.value(v, where)] for k, v in value.items()]]
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.ascontiguousarray(value)
            if array.dtype.hasobject:
                return ["object-array", [self.value(v, where) for v in array.ravel().tolist()]]
            return ["array", str(array.dtype), list(array.shape), hashlib.sha256(array.tobytes()).hexdigest()]
        if isinstance(value, torch.Tensor):
            return ["tensor", str(value.dtype), list(value.shape), hashlib.sha256(_tensor_bytes(value)).hexdigest()]
        if isinstance(value, (torch.dtype, torch.device, np.dtype)):
            return [type(value).__name__, str(value)]
        if isinstance(value, torch.nn.Module):  # described like `module_identity`: leniently, even inside a callable
            return self._guarded(value, lambda: ["torch-module", module_checksum(value),
                                                 self._lenient_structure(value)])
        if isinstance(value, types.ModuleType):
            return ["module", value.__name__, str(getattr(value, "__version__", ""))]
        if isinstance(value, type):
            return ["class", value.__module__, value.__qualname__]
        if isinstance(value, types.FunctionType):
            if os.path.abspath(value.__code__.co_filename).startswith(_LIBRARY_DIRS):
                top = (value.__module__ or "").split(".")[0]
                return ["library-function", value.__module__, value.__qualname__,
                        str(getattr(sys.modules.get(top), "__version__", ""))]
            return self._guarded(value, lambda: self._function(value))
        if isinstance(value, types.MethodType):
            return ["method", self.value(value.__func__, where), self.value(value.__self__, where)]
        if isinstance(value, functools.partial):
            return ["partial", self.value(value.func, where), self.value(value.args, where),
                    self.value(value.keywords, where)]
        if isinstance(value, (types.BuiltinFunctionType, types.MethodWrapperType, np.ufunc)) or (
                callable(value) and type(value).__module__.split(".")[0] in ("builtins", "numpy", "torch")):
            return ["builtin", getattr(value, "__module__", None) or "", _qualname(value)]
        if dataclasses.is_dataclass(value):
            fields = {f.name: self.value(getattr(value, f.name), where) for f in dataclasses.fields(value)}
            return ["dataclass", type(value).__module__, type(value).__qualname__, fields]
        # B004 misfires: this reads the class's own __call__ (to fingerprint its code), it is not a callability test
        if callable(value) and isinstance(getattr(type(value), "__call__", None), types.FunctionType):  # noqa: B004
            state = getattr(value, "__dict__", {})
            return ["callable-object", self.value(type(value).__call__, where), self.value(dict(state), where)]
        return self._unhashable(value, where)

    def module_structure(self, module: torch.nn.Module) -> list[Any]:
        """Per submodule: name, class, ``repr`` line, plain public attributes and ``forward`` code."""
        rows = []
        for name, sub in module.named_modules():
            attributes = {key: value for key, value in vars(sub).items()
                          if not key.startswith("_") and key != "training"
                          and isinstance(value, (*_PLAIN, tuple, list, dict))}
            forward = getattr(type(sub), "forward", None)
            code = self.value(forward, f"forward of {type(sub).__qualname__}") if forward is not None else None
            script = getattr(sub, "code", None) if isinstance(sub, torch.jit.ScriptModule) else None
            rows.append([name, type(sub).__module__, type(sub).__qualname__, sub.extra_repr(),
                         self.value(attributes, name), code, script])
        return rows

    def _lenient_structure(self, module: torch.nn.Module) -> list[Any]:
        strict, self.strict = self.strict, False
        try:
            return self.module_structure(module)
        finally:
            self.strict = strict

    def _guarded(self, value: Any, describe: Callable[[], Any]) -> Any:
        if id(value) in self.active:  # recursion (a function calling itself, a module holding itself)
            return ["recursion", _qualname(value)]
        self.active.add(id(value))
        try:
            return describe()
        finally:
            self.active.discard(id(value))

    def _function(self, function: types.FunctionType) -> list[Any]:
        name = function.__qualname__
        closure = dict(zip(function.__code__.co_freevars, function.__closure__ or (), strict=True))
        captured = {}
        for variable, cell in closure.items():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell: the variable is not assigned yet
                captured[variable] = ["empty"]
                continue
            captured[variable] = self.value(contents, f"closure variable {variable!r} of {name}")
        read = {}
        for global_name in sorted(_globals_read(function.__code__)):
            if global_name in function.__globals__:
                read[global_name] = self.value(function.__globals__[global_name],
                                               f"global {global_name!r} read by {name}")
        return ["function", function.__module__, name, _code(function.__code__),
                self.value(function.__defaults__, f"default arguments of {name}"),
                self.value(function.__kwdefaults__, f"default arguments of {name}"), captured, read]

    def _unhashable(self, value: Any, where: str) -> Any:
        if self.strict:
            raise _NoContentHash(f"{where or 'the callable'} holds a {type(value).__module__}."
                                 f"{type(value).__qualname__}, which has no content hash")
        return ["unhashed", type(value).__module__, type(value).__qualname__]


def _code(code: types.CodeType) -> list[Any]:
    """A code object by what it computes: bytecode, constants (nested code included), names and argument layout —
    not its file name or line numbers."""
    constants = [_code(c) if isinstance(c, types.CodeType)
                 else ["frozenset", sorted(map(repr, c))] if isinstance(c, frozenset)  # repr order varies by process
                 else [type(c).__name__, repr(c)] for c in code.co_consts]
    return [code.co_code.hex(), constants, list(code.co_names), list(code.co_varnames), list(code.co_freevars),
            list(code.co_cellvars), code.co_argcount, code.co_kwonlyargcount, code.co_flags]


def _globals_read(code: types.CodeType) -> set[str]:
    """Names a code object (and the code nested in it: lambdas, comprehensions, inner functions) loads as globals."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _globals_read(constant)
    return names
