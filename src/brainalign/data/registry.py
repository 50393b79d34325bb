"""The dataset registry: name → `Dataset` loader class.

Built-in loaders live in ``brainalign.data.datasets`` (imported on first lookup) and register themselves with
:func:`register_dataset`; other packages add theirs through the ``brainalign.datasets`` entry-point group.

>>> "Kriegeskorte2008" in list_datasets()
True
>>> get_dataset("Kriegeskorte2008").regions
('hIT', 'mIT', 'behavior')
"""

from __future__ import annotations

from brainalign.core.registry import Registry
from brainalign.data.dataset import Dataset

__all__ = ["DATASETS", "Dataset", "get_dataset", "list_datasets", "register_dataset"]

DATASETS: Registry[type[Dataset]] = Registry("dataset", "brainalign.datasets",
                                             builtin_modules=["brainalign.data.datasets"])


def register_dataset(cls: type[Dataset]) -> type[Dataset]:
    """Class decorator: register a `Dataset` subclass under its ``identifier``.

    >>> @register_dataset
    ... class Tiny(Dataset):
    ...     identifier, folder, regions = "Tiny", "tiny", ("V1",)
    >>> get_dataset("Tiny").regions
    ('V1',)
    >>> DATASETS.unregister("Tiny")
    """
    return DATASETS.register(cls.identifier, cls)


def get_dataset(name: str) -> Dataset:
    """The dataset registered as ``name`` (a loader instance), with the valid names in the error when unknown."""
    return DATASETS.get(name)()


def list_datasets() -> list[str]:
    """Identifiers of all registered datasets."""
    return DATASETS.names()
