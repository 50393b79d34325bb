"""Reading a provider's pickle of NumPy arrays without running arbitrary code.

Some datasets publish their arrays as Python pickles (a dict or tuple of ``numpy.ndarray``). Unpickling can call
any importable function, so such files are read only after their checksum was verified, and with
:func:`load_array_pickle`, whose unpickler resolves only the globals that rebuild NumPy arrays, dtypes and scalars
(plus the codec helper that protocol 2 uses for bytes); built-in containers (dict, list, tuple, str, numbers) need
no globals. Any other global (``os.system``, ``builtins.eval``, a class of some package, ...) is refused with an
error naming it and the file. Pickles written by NumPy 1 (``numpy.core.*``) read the same under NumPy 2.
:func:`load_object_npy` reads ``.npy`` files of pickled objects (``numpy.save`` of a dict) the same way.

>>> import pickle, tempfile, pathlib
>>> import numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "betas.pkl"
>>> _ = path.write_bytes(pickle.dumps({"betas": np.arange(3.0), "order": ["vid0001"]}))
>>> load_array_pickle(path)["betas"].tolist()
[0.0, 1.0, 2.0]
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path
from typing import Any

from brainalign.core.errors import InvalidInputError

ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # protocol 2 stores an array's bytes as a latin-1 str re-encoded by this
})
_CORE_PREFIXES = ("numpy.core.", "numpy._core.")  # NumPy 1 writes numpy.core.*, NumPy 2 numpy._core.*
_INSTALLED_CORE = "numpy._core." if importlib.util.find_spec("numpy._core") else "numpy.core."


class UnsafePickleError(InvalidInputError):
    """A pickle asks for a global outside :data:`ALLOWED_GLOBALS` (it would run code beyond rebuilding arrays)."""


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        prefix = next((p for p in _CORE_PREFIXES if module.startswith(p)), None)
        if prefix is not None:
            module = "numpy._core." + module[len(prefix):]
        if (module, name) not in ALLOWED_GLOBALS:
            allowed = ", ".join(sorted(f"{m}.{n}" for m, n in ALLOWED_GLOBALS))
            raise UnsafePickleError(f"{self.source} asks to load {module}.{name}, which is not allowed: only NumPy "
                                    f"arrays and built-in containers are read from pickles (allowed globals: "
                                    f"{allowed})")
        if prefix is not None:
            module = _INSTALLED_CORE + module[len("numpy._core."):]
        return super().find_class(module, name)


def load_array_pickle(path: str | os.PathLike) -> Any:
    """The object pickled in ``path``, rebuilt only from NumPy arrays / dtypes / scalars and built-in containers.

    Raises `UnsafePickleError` naming the file and the refused global, or `InvalidInputError` when the file is not
    a readable pickle. Verify the file's checksum first: this guards against code execution, not bad data.
    """
    path = Path(path)
    with open(path, "rb") as f:
        try:
            return _ArrayUnpickler(f, str(path)).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError) as error:
            raise InvalidInputError(f"cannot read the pickle {path}: {error}") from error


def load_object_npy(path: str | os.PathLike) -> Any:
    """The array in a ``.npy`` file, whose objects (``numpy.save`` of a dict or a list: a pickle behind the
    ``.npy`` header) are rebuilt as :func:`load_array_pickle` does; a 0-d object array gives its item.

    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.npy"
    >>> np.save(path, {"eeg": np.zeros((2, 3))})
    >>> load_object_npy(path)["eeg"].shape
    (2, 3)
    """
    import numpy as np

    path = Path(path)
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            _, _, dtype = read_header(f)
        except ValueError as error:
            raise InvalidInputError(f"{path} is not a .npy file: {error}") from error
        if not dtype.hasobject:
            return np.load(path, allow_pickle=False)
        try:
            array = _ArrayUnpickler(f, str(path)).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError) as error:
            raise InvalidInputError(f"cannot read the objects in {path}: {error}") from error
    return array.item() if getattr(array, "shape", None) == () else array
