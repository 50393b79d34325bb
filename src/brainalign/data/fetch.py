"""Checksummed, mirrorable, resumable file fetching for dataset loaders.

A file is looked up, in order, in each mirror directory (``BRAINALIGN_MIRROR``) as ``<mirror>/<dataset>/<path>``,
in the cache as ``cache_dir("data", dataset)/<path>``, and only then downloaded from its public URL into the
cache. Every file is checked against its sha256; a verified file's digest is remembered by size and mtime,
so large files are hashed once, not on every call.

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

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from brainalign.core.config import cache_dir, mirror_dirs
from brainalign.core.errors import BrainAlignError, OfflineError
from brainalign.core.storage import atomic_path, content_hash, file_sha256

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
    """A verified local copy of ``remote``: from a mirror, else the cache, else downloaded into the cache."""
    for mirror in mirror_dirs():
        candidate = mirror / dataset / remote.path
        if candidate.is_file():
            _verify(candidate, remote.sha256)
            return candidate
    target = cache_dir("data", dataset) / remote.path
    if target.is_file():
        try:
            _verify(target, remote.sha256)
            return target
        except ChecksumError:
            target.unlink()  # a damaged cache entry is ours to replace
    try:
        _download(remote.url, target, remote.sha256)
    except OSError as error:  # URLError, refused or reset connections, timeouts
        searched = ", ".join(str(m) for m in mirror_dirs()) or "none set"
        raise OfflineError(
            f"could not download {remote.url} to {target} ({getattr(error, 'reason', error)}). "
            f"No mirror holds it (searched: {searched}); set BRAINALIGN_MIRROR to a directory holding "
            f"<mirror>/{dataset}/{remote.path}, or connect to the internet and try again"
        ) from error
    return target


def _verify(path: Path, expected: str) -> None:
    """Raise ChecksumError unless ``path`` has sha256 ``expected``; digests are remembered by size and mtime."""
    stat = path.stat()
    record_path = cache_dir("data", ".verified") / f"{content_hash(str(path.resolve()))}.json"
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        record = {}
    if {k: record.get(k) for k in key} == key and "sha256" in record:
        actual = record["sha256"]
    else:
        actual = file_sha256(path)
        with atomic_path(record_path) as tmp:
            tmp.write_text(json.dumps({**key, "sha256": actual, "path": str(path)}))
    if actual != expected:
        raise ChecksumError(f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}")


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

