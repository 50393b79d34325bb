"""`ManifestDataset`: a loader whose file list is read from a mirror-only checksum manifest (``SHA256SUMS``).

The manifest has no public address of its own; its digest, pinned by the loader, vouches for every file it lists.
Describing such a dataset (``info()``, ``brainalign list datasets``) never fetches anything: ``n_files`` is
``None`` until the manifest is in a mirror or the cache.

>>> import os
>>> class Toy(ManifestDataset):
...     identifier, folder, regions = "Toy", "toy-no-such-folder", ("V1",)
...     citation = license = species = modality = "-"
...     manifest = RemoteFile("SHA256SUMS", "", "0" * 64)
...     def file_url(self, path):
...         return "https://example.org/" + path
>>> Toy().info()["n_files"] is None
True
"""

from __future__ import annotations

import copy
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from brainalign.core.config import mirror_dirs
from brainalign.core.errors import OfflineError
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile, fetch, local_copy


class ManifestDataset(Dataset):
    """A `Dataset` whose ``files`` are the verified ``manifest`` plus every file it lists (``file_url`` gives each
    file's public address)."""

    manifest: ClassVar[RemoteFile]

    def file_url(self, path: str) -> str:
        """The public address of the dataset file at ``path``."""
        raise NotImplementedError

    @cached_property
    def files(self) -> tuple[RemoteFile, ...]:  # type: ignore[override]
        """The manifest and every file it lists, with the sha256 it lists."""
        if self.local_manifest() is None:
            raise OfflineError(f"{self.identifier}'s file manifest {self.manifest.path} has no public address: set "
                               f"BRAINALIGN_MIRROR to a folder holding {self.folder}/{self.manifest.path} (see the "
                               f"data README); searched mirrors: {', '.join(map(str, mirror_dirs())) or 'none set'}")
        lines = fetch(self.folder, self.manifest).read_text().splitlines()
        listed = [line.split(maxsplit=1) for line in lines if line.strip()]
        paths = [(sha, path.strip().removeprefix("./")) for sha, path in listed]
        return (self.manifest, *(RemoteFile(path, self.file_url(path), sha) for sha, path in paths))

    def local_manifest(self) -> Path | None:
        """The manifest in a mirror or the cache (not yet verified), else ``None``; never downloads."""
        return local_copy(self.folder, self.manifest)

    def info(self) -> dict[str, Any]:
        """As `Dataset.info`, without fetching: ``n_files`` is ``None`` while the manifest is not local."""
        if self.local_manifest() is not None:
            return super().info()
        listing = copy.copy(self)
        listing.__dict__["files"] = ()  # the cached_property's slot, on a copy only
        return {**Dataset.info(listing), "n_files": None}
