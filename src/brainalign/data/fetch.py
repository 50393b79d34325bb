"""Checksummed, mirrorable, resumable file fetching for dataset loaders.

A file is looked up, in order, in each mirror directory (``BRAINALIGN_MIRROR``) as ``<mirror>/<dataset>/<path>``,
in the cache as ``cache_dir("data", dataset)/<path>``, and only then downloaded from its public URL into the
cache (one process at a time per file: workers of a grid sharing a cache download each file once). Every copy is
checked before it is used, against the strongest checksum there is:

* the ``sha256`` the loader pins;
* else the ``sha1`` its provider publishes (BrainIO's catalog);
* else none at all (files handed out through a form, such as the Algonauts 2023 release of NSD): the first copy
  is trusted.

Without a pinned sha256, the sha256 of the first good copy is recorded in the cache
(``<cache>/data/<dataset>/sha256-recorded.json``) and every later use checks it. Digests are hashed at least once
per process (a digest is remembered only in memory, for the file's inode, size and times); a bad copy is reported
and the next source tried. A ``manual`` file is never downloaded: the error names the page to get it from and
where to put it.

>>> import hashlib, os, pathlib, tempfile
>>> mirror = pathlib.Path(tempfile.mkdtemp())
>>> (mirror / "toy").mkdir()
>>> _ = (mirror / "toy" / "hello.txt").write_bytes(b"hello")
>>> previous = os.environ.get("BRAINALIGN_MIRROR", "")
>>> os.environ["BRAINALIGN_MIRROR"] = str(mirror)
>>> remote = RemoteFile("hello.txt", "https://example.org/hello.txt", hashlib.sha256(b"hello").hexdigest())
>>> fetch("toy", remote).read_text()
'hello'
>>> fetch("toy", RemoteFile("hello.txt", "https://example.org/hello.txt", sha1=hashlib.sha1(b"hello").hexdigest())
...       ).read_text()
'hello'
>>> os.environ["BRAINALIGN_MIRROR"] = previous
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import filelock
from tqdm.auto import tqdm

from brainalign.core.config import cache_dir, mirror_dirs
from brainalign.core.errors import BrainAlignError, OfflineError
from brainalign.core.storage import atomic_path, stat_key

TIMEOUT_S = 30
CHUNK_BYTES = 1 << 16
HASH_CHUNK_BYTES = 1 << 20
PROGRESS_BYTES = 1 << 30
RECORDED = "sha256-recorded.json"


class ChecksumError(BrainAlignError, ValueError):
    """A file's checksum differs from the one its loader expects (corrupt, truncated or changed upstream)."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its ``path`` inside the dataset folder and its public ``url`` (for ``manual`` files,
    the page that hands it out), with the ``sha256`` the loader pins, else the ``sha1`` the provider publishes
    (neither: the first copy is trusted and its sha256 recorded)."""

    path: str
    url: str
    sha256: str | None = None
    sha1: str | None = None
    manual: bool = False


def fetch(dataset: str, remote: RemoteFile) -> Path:
    """A verified local copy of ``remote``: from a mirror, else the cache, else downloaded into the cache.

    A copy whose checksum differs is reported in a warning naming the file, the URL and the remedy, and the next
    source is tried; when none holds a good copy the error lists every mismatch and where to put the file.
    """
    expected = _expected(dataset, remote)
    mismatches = []
    for mirror in mirror_dirs():
        candidate = mirror / dataset / remote.path
        if candidate.is_file():
            problem = _mismatch(candidate, remote, expected)
            if problem is None:
                return _recorded_copy(dataset, remote, candidate)
            mismatches.append(f"{problem}; replace it with a fresh copy of {remote.url} (mirrors are never changed)")
            warnings.warn(f"{mismatches[-1]}. Trying the next source.", stacklevel=2)
    target = cache_dir("data", dataset) / remote.path
    with _lock(target):  # one process at a time checks, replaces or downloads a cache entry
        return _cached_copy(dataset, remote, target, expected, mismatches)


def _cached_copy(dataset: str, remote: RemoteFile, target: Path, expected: tuple[str, str] | None,
                 mismatches: list[str]) -> Path:
    """The verified cache copy of ``remote`` at ``target``, downloaded when missing or damaged (``fetch``'s last
    two sources; ``mismatches`` holds what the mirrors had)."""
    if target.is_file():
        problem = _mismatch(target, remote, expected)
        if problem is None:
            return _recorded_copy(dataset, remote, target)
        if remote.manual:
            mismatches.append(problem)
        warnings.warn(f"{problem}; the cached copy is deleted"
                      + ("" if remote.manual else " and downloaded again"), stacklevel=3)
        target.unlink()  # a damaged cache entry is ours to replace
    where = " or ".join([str(m / dataset / remote.path) for m in mirror_dirs()] + [str(target)])
    if remote.manual:
        missing = f"{dataset}/{remote.path} is not here: download it from {remote.url} and put it at {where}"
        raise (ChecksumError if mismatches else OfflineError)("; ".join([*mismatches, missing]))
    try:
        _download(remote.url, target, expected)
    except ChecksumError as error:
        raise ChecksumError("; ".join([*mismatches, str(error)])) from error
    except OSError as error:  # URLError, refused or reset connections, timeouts
        searched = ", ".join(str(m) for m in mirror_dirs()) or "none set"
        offline = (f"could not download {remote.url} to {target} ({getattr(error, 'reason', error)}). "
                   f"No mirror holds a good copy (searched: {searched}); download it by hand and put it at {where} "
                   f"(set BRAINALIGN_MIRROR to a directory holding <mirror>/{dataset}/{remote.path}), or connect "
                   f"to the internet and try again")
        raise (ChecksumError if mismatches else OfflineError)("; ".join([*mismatches, offline])) from error
    return _recorded_copy(dataset, remote, target)


def local_folder(dataset: str, relative: str, what: str, source: str) -> Path:
    """The folder ``relative`` of ``dataset`` in a mirror or the cache, for data a provider hands out only as a
    whole (an image or video set behind a form or a password), unpacked there by hand. Missing, the `OfflineError`
    names ``what`` is missing, the page to get it from (``source``) and every place it may go.

    >>> local_folder("toy-no-such-dataset", "images", "the toy images", "https://example.org")
    Traceback (most recent call last):
    ...
    brainalign.core.errors.OfflineError: the toy images are not here: get them from https://example.org and put the \
folder images/ at ...
    """
    roots = [*(m / dataset for m in mirror_dirs()), cache_dir("data", dataset)]
    found = next((root / relative for root in roots if (root / relative).is_dir()), None)
    if found is None:
        raise OfflineError(f"{what} are not here: get them from {source} and put the folder {relative}/ at "
                           + " or ".join(str(root / relative) for root in roots))
    return found


def local_copy(dataset: str, remote: RemoteFile) -> Path | None:
    """Where ``fetch`` would look first for ``remote`` and find a file (a mirror, else the cache), not yet
    verified; ``None`` when there is none. Never downloads or hashes."""
    candidates = [*(m / dataset / remote.path for m in mirror_dirs()), cache_dir("data", dataset) / remote.path]
    return next((c for c in candidates if c.is_file()), None)


def checksum_kind(dataset: str, remote: RemoteFile) -> str:
    """How ``fetch`` checks ``remote``: ``"sha256 pinned"``, ``"sha256 recorded"`` (at its first use),
    ``"sha1 published"``, or ``"first copy trusted"`` (nothing published, nothing recorded yet).

    >>> checksum_kind("toy", RemoteFile("a.txt", "https://example.org/a.txt", "0" * 64))
    'sha256 pinned'
    """
    if remote.sha256 is not None:
        return "sha256 pinned"
    algorithm = (_expected(dataset, remote) or ("", ""))[0]
    return {"sha256": "sha256 recorded", "sha1": "sha1 published"}.get(algorithm, "first copy trusted")


_DIGESTS_SEEN: dict[tuple[str, tuple[str, int, int, int, int, int]], str] = {}


def file_digest_once(path: Path, algorithm: str = "sha256") -> str:
    """The ``algorithm`` digest of ``path``, hashed at least once per process (again whenever size, times or
    inode change); files of a gigabyte or more show a progress bar.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = path.write_bytes(b"hello")
    >>> file_digest_once(path)[:16]
    '2cf24dba5fb0a30e'
    """
    key = (algorithm, stat_key(path))
    if key not in _DIGESTS_SEEN:
        digest, size = hashlib.new(algorithm), key[1][3]
        with open(path, "rb") as f, tqdm(total=size, unit="B", unit_scale=True, desc=f"checking {Path(path).name}",
                                         disable=True if size < PROGRESS_BYTES else None) as progress:
            for block in iter(lambda: f.read(HASH_CHUNK_BYTES), b""):
                digest.update(block)
                progress.update(len(block))
        _DIGESTS_SEEN[key] = digest.hexdigest()
    return _DIGESTS_SEEN[key]


def _expected(dataset: str, remote: RemoteFile) -> tuple[str, str] | None:
    """(algorithm, digest) a copy of ``remote`` must have; ``None`` while nothing is pinned, published or recorded."""
    if remote.sha256 is not None:
        return "sha256", remote.sha256
    recorded = _recorded(dataset).get(remote.path)
    if recorded is not None and recorded.get("sha1") == remote.sha1:  # a changed sha1 means: verify again
        return "sha256", recorded["sha256"]
    return None if remote.sha1 is None else ("sha1", remote.sha1)


def _mismatch(path: Path, remote: RemoteFile, expected: tuple[str, str] | None) -> str | None:
    """None when ``path`` has the ``expected`` digest, else a message naming the file, the URL and both digests."""
    if expected is None:
        return None
    algorithm, digest = expected
    actual = file_digest_once(path, algorithm)
    if actual == digest:
        return None
    return f"checksum mismatch for {path} (a copy of {remote.url}): expected {algorithm} {digest}, got {actual}"


def _recorded(dataset: str) -> dict[str, dict[str, str | None]]:
    path = cache_dir("data", dataset) / RECORDED
    return json.loads(path.read_text()) if path.is_file() else {}


def _recorded_copy(dataset: str, remote: RemoteFile, copy: Path) -> Path:
    """``copy``, after recording its sha256 when the loader pins none and none is recorded yet."""
    if remote.sha256 is None:
        entry = {"sha1": remote.sha1, "sha256": file_digest_once(copy)}
        if _recorded(dataset).get(remote.path) != entry:
            path = cache_dir("data", dataset) / RECORDED
            with _lock(path):  # read, add, write: concurrent workers must not drop each other's entries
                recorded = {**_recorded(dataset), remote.path: entry}
                with atomic_path(path) as tmp:
                    tmp.write_text(json.dumps(recorded, indent=1, sort_keys=True))
    return copy


def _lock(path: Path) -> filelock.FileLock:
    """An inter-process lock for ``path`` (a hidden ``.<name>.lock`` beside it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(path.with_name(f".{path.name}.lock"))


def _download(url: str, target: Path, expected: tuple[str, str] | None) -> None:
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
    problem = _mismatch(part, RemoteFile(target.name, url), expected)
    if problem is not None:
        part.unlink()
        raise ChecksumError(f"{problem}; the partial file was removed, run again to retry")
    os.replace(part, target)
