"""Atomic writes and content hashes: a killed run leaves no half-written file, a stale cache is never reused."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from brainalign.core.errors import BrainAlignError


class StorageError(BrainAlignError, OSError):
    """A file could not be written or read back intact (disk full, no permission, damaged or truncated file);
    the message names the path and what to do."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def content_hash(*parts: Any, length: int = 16) -> str:
    """A stable hex digest of JSON-serialisable parts (dict keys sorted).

    >>> content_hash({"b": 1, "a": 2}) == content_hash({"a": 2, "b": 1})
    True
    """
    payload = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()[:length]


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, read in chunks.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = path.write_bytes(b"hello")
    >>> file_sha256(path)[:16]
    '2cf24dba5fb0a30e'
    """
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def file_fingerprint(path: str | os.PathLike) -> str:
    """A fast 128-bit content hash (blake2b) of a file's bytes: equal bytes, equal hash; sizes and times play no part.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a").write_bytes(b"same"); _ = (folder / "b").write_bytes(b"same")
    >>> file_fingerprint(folder / "a") == file_fingerprint(folder / "b")
    True
    """
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def stat_key(path: str | os.PathLike) -> tuple[str, int, int, int, int, int]:
    """(resolved path, device, inode, size, mtime, ctime): a key for per-process memos of a file's content checks.

    A file rewritten in place changes its ctime even when size and mtime are restored, so a memo keyed by this
    is never older than the file; it is never persisted, so each process checks content at least once.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = path.write_bytes(b"abc")
    >>> stat_key(path)[3]
    3
    """
    stat = os.stat(path)
    return (str(Path(path).resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
