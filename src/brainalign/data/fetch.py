"""Checksummed, mirrorable, resumable file fetching for dataset loaders.

A file is looked up, in order, in each mirror directory (``BRAINALIGN_MIRROR``) as ``<mirror>/<dataset>/<path>``,
in the cache as ``cache_dir("data", dataset)/<path>``, and only then downloaded from its public URL into the
cache. Every file is checked against its sha256 at least once per process before it is used (a digest is
remembered only in memory, for the file's inode, size and times); a bad copy is reported and the next source tried.

>>> import hashlib, os, pathlib, tempfile
>>> mirror = pathlib.Path(tempfile.mkdtemp())
>>> (mirror / "toy").mkdir()
>>> _ = (mirror / "toy" / "hello.txt").write_bytes(b"hello")
>>> previous = os.environ.get("BRAINALIGN_MIRROR", "")
>>> os.environ["BRAINALIGN_MIRROR"] = str(mirror)
>>> remote = RemoteFile("hello.txt", "https://example.org/hello.txt", hashlib.sha256(b"hello").hexdigest())
>>> fetch("toy", remote).read_text()
'hello'
>>> os.environ["BRAINALIGN_MIRROR"] = previous
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from brainalign.core.config import cache_dir, mirror_dirs
from brainalign.core.errors import BrainAlignError, OfflineError
from brainalign.core.storage import file_sha256, stat_key

TIMEOUT_S = 30
CHUNK_BYTES = 1 << 16


class ChecksumError(BrainAlignError, ValueError):
    """A file's sha256 differs from the one its loader expects (corrupt, truncated or changed upstream)."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its ``path`` inside the dataset folder, its public ``url`` and its ``sha256``."""

    path: str
    url: str
    sha256: str


def fetch(dataset: str, remote: RemoteFile) -> Path:
    """A verified local copy of ``remote``: from a mirror, else the cache, else downloaded into the cache.

    A copy whose sha256 differs is reported in a warning naming the file, the URL and the remedy, and the next
    source is tried; when none holds a good copy the error lists every mismatch.
    """
    mismatches = []
    for mirror in mirror_dirs():
        candidate = mirror / dataset / remote.path
        if candidate.is_file():
            problem = _mismatch(candidate, remote)
            if problem is None:
                return candidate
            mismatches.append(f"{problem}; replace it with a fresh copy of {remote.url} (mirrors are never changed)")
            warnings.warn(f"{mismatches[-1]}. Trying the next source.", stacklevel=2)
    target = cache_dir("data", dataset) / remote.path
    if target.is_file():
        problem = _mismatch(target, remote)
        if problem is None:
            return target
        warnings.warn(f"{problem}; the cached copy is deleted and downloaded again", stacklevel=2)
        target.unlink()  # a damaged cache entry is ours to replace
    try:
        _download(remote.url, target, remote.sha256)
    except ChecksumError as error:
        raise ChecksumError("; ".join([*mismatches, str(error)])) from error
    except OSError as error:  # URLError, refused or reset connections, timeouts
        searched = ", ".join(str(m) for m in mirror_dirs()) or "none set"
        offline = (f"could not download {remote.url} to {target} ({getattr(error, 'reason', error)}). "
                   f"No mirror holds a good copy (searched: {searched}); set BRAINALIGN_MIRROR to a directory "
                   f"holding <mirror>/{dataset}/{remote.path}, or connect to the internet and try again")
        if mismatches:
            raise ChecksumError("; ".join([*mismatches, offline])) from error
        raise OfflineError(offline) from error
    return target


_SHA256_SEEN: dict[tuple[str, int, int, int, int, int], str] = {}


def file_sha256_once(path: Path) -> str:
    """The sha256 of ``path``, hashed at least once per process (again whenever size, times or inode change).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = path.write_bytes(b"hello")
    >>> file_sha256_once(path)[:16]
    '2cf24dba5fb0a30e'
    """
    key = stat_key(path)
    if key not in _SHA256_SEEN:
        _SHA256_SEEN[key] = file_sha256(path)
    return _SHA256_SEEN[key]


def _mismatch(path: Path, remote: RemoteFile) -> str | None:
    """None when ``path`` has the sha256 of ``remote``, else a message naming the file, the URL and both digests."""
    actual = file_sha256_once(path)
    if actual == remote.sha256:
        return None
    return f"checksum mismatch for {path} (a copy of {remote.url}): expected sha256 {remote.sha256}, got {actual}"


def _download(url: str, target: Path, expected: str) -> None:
    """Download ``url`` into ``target.part`` (resuming a partial one with an HTTP Range request), verify, rename.

    Network failures propagate as ``URLError`` / ``OSError``; a partial file is kept for the next attempt.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            if response.status != 206:  # the server ignored the range: start over
                offset = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
            with open(part, "ab" if offset else "wb") as out, tqdm(
                total=total, initial=offset, unit="B", unit_scale=True, desc=target.name, disable=None
            ) as progress:
                for block in iter(lambda: response.read(CHUNK_BYTES), b""):
                    out.write(block)
                    progress.update(len(block))
    except urllib.error.HTTPError as error:
        if not (error.code == 416 and offset):  # 416 after a Range request: the partial file is complete
            raise
    actual = file_sha256(part)
    if actual != expected:
        part.unlink()
        raise ChecksumError(f"checksum mismatch for {url} (downloaded to {part}): expected sha256 {expected}, "
                            f"got {actual}; the partial file was removed, run again to retry")
    os.replace(part, target)

