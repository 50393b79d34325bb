"""Fetching dataset files whose provider publishes no sha256: a SHA-1 (BrainIO's catalog), or no checksum at all
(files handed out through a form, such as the Algonauts 2023 release of NSD).

The first good copy found (mirror, cache, or a download) is checked against the published SHA-1 when there is
one; its sha256 is then recorded in the cache (``<cache>/data/<folder>/sha256-recorded.json``) and every later
use checks that sha256 (hashed once per process, as `brainalign.data.fetch` does). A ``manual`` file is never
downloaded: when no copy is found the error names the page to get it from and where to put it.

>>> import hashlib, os, pathlib, tempfile
>>> mirror = pathlib.Path(tempfile.mkdtemp())
>>> (mirror / "toy").mkdir()
>>> _ = (mirror / "toy" / "a.txt").write_bytes(b"hello")
>>> previous = os.environ.get("BRAINALIGN_MIRROR", "")
>>> os.environ["BRAINALIGN_MIRROR"] = str(mirror)
>>> remote = PublishedFile("a.txt", "https://example.org/a.txt", sha1=hashlib.sha1(b"hello").hexdigest())
>>> fetch_published("toy", remote).read_text()
'hello'
>>> os.environ["BRAINALIGN_MIRROR"] = previous
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from brainalign.core.config import cache_dir, mirror_dirs
from brainalign.core.errors import OfflineError
from brainalign.core.storage import atomic_path, file_sha256
from brainalign.data.fetch import TIMEOUT_S, ChecksumError, file_sha256_once

RECORDED = "sha256-recorded.json"


@dataclass(frozen=True)
class PublishedFile:
    """A dataset file: ``path`` in the dataset folder, ``url`` (a download, or for ``manual`` files the page that
    hands it out) and the ``sha1`` its provider published (``None``: none published; the first copy is trusted)."""

    path: str
    url: str
    sha1: str | None = None
    manual: bool = False


def fetch_published(folder: str, remote: PublishedFile) -> Path:
    """A verified local copy of ``remote`` (see the module docstring); a copy whose SHA-1 differs is named in a
    warning and skipped, and the error when nothing good is found names the URL and where to put the file."""
    recorded = _recorded(folder).get(remote.path)
    if recorded is not None and recorded.get("sha1") != remote.sha1:
        recorded = None  # the loader now publishes another checksum: verify again
    target = cache_dir("data", folder) / remote.path
    mismatches = []
    for candidate in [m / folder / remote.path for m in mirror_dirs()] + [target]:
        if not candidate.is_file():
            continue
        if recorded is not None:
            expected, actual = f"sha256 {recorded['sha256']}", f"sha256 {file_sha256_once(candidate)}"
        else:
            expected, actual = f"sha1 {remote.sha1}", f"sha1 {None if remote.sha1 is None else _sha1(candidate)}"
        if actual == expected:
            if recorded is None:
                _record(folder, remote, candidate)
            return candidate
        mismatches.append(f"checksum mismatch for {candidate} (a copy of {remote.url}): expected {expected}, "
                          f"got {actual}")
        warnings.warn(f"{mismatches[-1]}; trying the next source", stacklevel=2)
    where = " or ".join([str(m / folder / remote.path) for m in mirror_dirs()] + [str(target)])
    if remote.manual:
        missing = f"{folder}/{remote.path} is not here: download it from {remote.url} and put it at {where}"
        raise (ChecksumError if mismatches else OfflineError)("; ".join([*mismatches, missing]))
    try:
        _download(remote, target)
    except OSError as error:
        message = (f"could not download {remote.url} ({getattr(error, 'reason', error)}); download it by hand and "
                   f"put it at {where} (or set BRAINALIGN_MIRROR to a folder holding {folder}/{remote.path})")
        raise (ChecksumError if mismatches else OfflineError)("; ".join([*mismatches, message])) from error
    _record(folder, remote, target)
    return target


def _sha1(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha1").hexdigest()


def _recorded(folder: str) -> dict[str, dict[str, str | None]]:
    path = cache_dir("data", folder) / RECORDED
    return json.loads(path.read_text()) if path.is_file() else {}


def _record(folder: str, remote: PublishedFile, copy: Path) -> None:
    recorded = _recorded(folder)
    recorded[remote.path] = {"sha1": remote.sha1, "sha256": file_sha256(copy)}
    with atomic_path(cache_dir("data", folder) / RECORDED) as tmp:
        tmp.write_text(json.dumps(recorded, indent=1, sort_keys=True))


def _download(remote: PublishedFile, target: Path) -> None:
    """Stream ``remote.url`` into ``target`` atomically; a SHA-1 other than the published one is an error."""
    with urllib.request.urlopen(remote.url, timeout=TIMEOUT_S) as response, atomic_path(target) as tmp:
        total = response.headers.get("Content-Length")
        digest = hashlib.sha1()
        with open(tmp, "wb") as out, tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                                          desc=target.name, disable=None) as progress:
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                digest.update(block)
                progress.update(len(block))
        if remote.sha1 is not None and digest.hexdigest() != remote.sha1:
            raise ChecksumError(f"checksum mismatch for {remote.url}: expected sha1 {remote.sha1}, got "
                                f"{digest.hexdigest()}; nothing was kept, run again to retry")
