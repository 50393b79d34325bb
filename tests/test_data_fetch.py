"""fetch(): mirror hits, cache, checksum errors, offline errors, and a real HTTP download with resume."""

import hashlib
import http.server
import os
import re
import subprocess
import sys
import threading
from functools import partial

import pytest

from brainalign.core.config import cache_dir
from brainalign.core.errors import OfflineError
from brainalign.data.fetch import ChecksumError, RemoteFile, fetch

PAYLOAD = bytes(range(256)) * 400  # 100 kB
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    root = tmp_path / "mirror"
    (root / "toy" / "sub").mkdir(parents=True)
    (root / "toy" / "sub" / "blob.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(root))
    return root


@pytest.fixture
def no_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINALIGN_MIRROR", "")
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a directory, honouring ``Range: bytes=N-`` and logging each request's range."""

    requests: list = []

    def do_GET(self):
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        self.requests.append(self.headers.get("Range"))
        if not match:
            return super().do_GET()
        data = (self.directory_path / self.path.lstrip("/")).read_bytes()[int(match.group(1)):]
        self.send_response(206)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "blob.bin").write_bytes(PAYLOAD)
    handler = type("Handler", (_RangeHandler,), {"requests": [], "directory_path": served})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_mirror_hit_is_verified_and_returned(mirror):
    path = fetch("toy", RemoteFile("sub/blob.bin", "http://127.0.0.1:9/blob.bin", DIGEST))
    assert path == mirror / "toy" / "sub" / "blob.bin"
    assert fetch("toy", RemoteFile("sub/blob.bin", "http://127.0.0.1:9/blob.bin", DIGEST)) == path  # remembered


def test_checksum_mismatch_names_both_digests(mirror):
    wrong = "0" * 64
    with pytest.warns(UserWarning, match="Trying the next source"), \
            pytest.raises(ChecksumError, match=f"expected sha256 {wrong}, got {DIGEST}"):
        fetch("toy", RemoteFile("sub/blob.bin", "http://127.0.0.1:9/blob.bin", wrong))


def test_changed_mirror_file_is_rehashed(mirror):
    fetch("toy", RemoteFile("sub/blob.bin", "http://127.0.0.1:9/blob.bin", DIGEST))
    (mirror / "toy" / "sub" / "blob.bin").write_bytes(PAYLOAD[:-1])
    with pytest.warns(UserWarning), pytest.raises(ChecksumError, match=hashlib.sha256(PAYLOAD[:-1]).hexdigest()):
        fetch("toy", RemoteFile("sub/blob.bin", "http://127.0.0.1:9/blob.bin", DIGEST))


def test_offline_error_names_url_target_and_mirror_variable(no_mirror):
    url = "http://127.0.0.1:9/blob.bin"
    with pytest.raises(OfflineError) as info:
        fetch("toy", RemoteFile("sub/blob.bin", url, DIGEST))
    message = str(info.value)
    assert url in message and "BRAINALIGN_MIRROR" in message
    assert str(cache_dir("data", "toy") / "sub" / "blob.bin") in message


def test_download_then_cache_hit(no_mirror, server):
    base, requests = server
    path = fetch("toy", RemoteFile("sub/blob.bin", f"{base}/blob.bin", DIGEST))
    assert path == cache_dir("data", "toy") / "sub" / "blob.bin"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DIGEST
    assert not path.with_name("blob.bin.part").exists()
    fetch("toy", RemoteFile("sub/blob.bin", f"{base}/blob.bin", DIGEST))
    assert requests == [None]  # the second call was served by the cache


def test_download_resumes_a_partial_file(no_mirror, server):
    base, requests = server
    part = cache_dir("data", "toy") / "sub" / "blob.bin.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(PAYLOAD[:30000])
    path = fetch("toy", RemoteFile("sub/blob.bin", f"{base}/blob.bin", DIGEST))
    assert requests == ["bytes=30000-"]
    assert path.read_bytes() == PAYLOAD


def test_corrupt_download_is_removed_and_reported(no_mirror, server):
    base, _ = server
    with pytest.raises(ChecksumError, match="expected sha256 " + "1" * 64):
        fetch("toy", RemoteFile("sub/blob.bin", f"{base}/blob.bin", "1" * 64))
    assert not (cache_dir("data", "toy") / "sub" / "blob.bin.part").exists()
    assert not (cache_dir("data", "toy") / "sub" / "blob.bin").exists()


def _edit_in_place(path):
    """Flip one byte, keeping size and modification time (what a size+mtime memo cannot see)."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns


def _fetch_in_new_process(url, digest):
    code = ("import sys; from brainalign.data.fetch import RemoteFile, fetch\n"
            f"print(fetch('toy', RemoteFile('sub/blob.bin', {url!r}, {digest!r})))")
    return subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=os.environ,
                          timeout=60)


def test_file_changed_with_same_size_and_mtime_is_caught_by_the_next_process(mirror):
    url = "http://127.0.0.1:9/blob.bin"
    first = _fetch_in_new_process(url, DIGEST)
    assert first.returncode == 0, first.stderr
    _edit_in_place(mirror / "toy" / "sub" / "blob.bin")
    second = _fetch_in_new_process(url, DIGEST)
    assert second.returncode != 0
    assert "ChecksumError" in second.stderr and str(mirror / "toy" / "sub" / "blob.bin") in second.stderr
    assert url in second.stderr and "replace it with a fresh copy" in second.stderr


def test_bad_mirror_copy_falls_through_to_the_next_mirror(tmp_path, monkeypatch):
    bad, good = tmp_path / "bad", tmp_path / "good"
    for root, payload in ((bad, PAYLOAD[::-1]), (good, PAYLOAD)):
        (root / "toy").mkdir(parents=True)
        (root / "toy" / "blob.bin").write_bytes(payload)
    monkeypatch.setenv("BRAINALIGN_MIRROR", f"{bad}{os.pathsep}{good}")
    url = "http://127.0.0.1:9/blob.bin"
    with pytest.warns(UserWarning) as record:
        path = fetch("toy", RemoteFile("blob.bin", url, DIGEST))
    assert path == good / "toy" / "blob.bin"
    [warning] = [str(w.message) for w in record]
    assert str(bad / "toy" / "blob.bin") in warning and url in warning and "fresh copy" in warning


def test_bad_mirror_copy_falls_through_to_the_download(tmp_path, monkeypatch, server):
    base, requests = server
    (tmp_path / "bad" / "toy").mkdir(parents=True)
    (tmp_path / "bad" / "toy" / "blob.bin").write_bytes(b"stale")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "bad"))
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    with pytest.warns(UserWarning, match="checksum mismatch"):
        path = fetch("toy", RemoteFile("blob.bin", f"{base}/blob.bin", DIGEST))
    assert path == cache_dir("data", "toy") / "blob.bin" and path.read_bytes() == PAYLOAD
    assert requests == [None]


def test_damaged_cache_copy_is_reported_and_downloaded_again(no_mirror, server):
    base, requests = server
    path = fetch("toy", RemoteFile("sub/blob.bin", f"{base}/blob.bin", DIGEST))
    path.write_bytes(PAYLOAD[:-10])
    with pytest.warns(UserWarning, match=f"checksum mismatch for {re.escape(str(path))}.*deleted and downloaded"):
        assert fetch("toy", RemoteFile("sub/blob.bin", f"{base}/blob.bin", DIGEST)).read_bytes() == PAYLOAD
    assert requests == [None, None]


def test_sha1_and_unpublished_checksums_are_checked_then_recorded(tmp_path, monkeypatch, private_cache):
    mirror = tmp_path / "mirror"
    (mirror / "mini").mkdir(parents=True)
    (mirror / "mini" / "good.nc").write_bytes(b"good")
    (mirror / "mini" / "bad.nc").write_bytes(b"tampered")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(mirror))
    good = RemoteFile("good.nc", "http://127.0.0.1:9/good.nc", sha1=hashlib.sha1(b"good").hexdigest())
    assert fetch("mini", good).read_bytes() == b"good"
    assert fetch("mini", good).read_bytes() == b"good"  # the second time through the recorded sha256
    bad = RemoteFile("bad.nc", "http://127.0.0.1:9/bad.nc", sha1=hashlib.sha1(b"original").hexdigest())
    with pytest.warns(UserWarning, match="bad.nc"), pytest.raises(ChecksumError, match=r"mirror/mini/bad.nc.*sha1"):
        fetch("mini", bad)
    missing = RemoteFile("gone.nc", "http://127.0.0.1:9/gone.nc", sha1="0" * 40)
    with pytest.raises(OfflineError, match=r"http://127.0.0.1:9/gone.nc.*put it at .*mirror/mini/gone.nc"):
        fetch("mini", missing)
    form = RemoteFile("form.npy", "http://127.0.0.1:9/form", manual=True)
    with pytest.raises(OfflineError, match=r"mini/form.npy is not here: download it from http://127.0.0.1:9/form"):
        fetch("mini", form)
    (mirror / "mini" / "form.npy").write_bytes(b"first")  # no published checksum: the first copy is recorded
    assert fetch("mini", form).read_bytes() == b"first"
    (mirror / "mini" / "form.npy").write_bytes(b"changed")
    with pytest.warns(UserWarning, match="form.npy.*expected sha256"), \
            pytest.raises(ChecksumError, match="download it from"):
        fetch("mini", form)


def test_concurrent_fetches_download_a_file_once(no_mirror, tmp_path):
    """Workers sharing a cache (threads here, processes on a cluster) wait for one download instead of writing
    the same partial file together."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    served = tmp_path / "slow"
    served.mkdir()
    (served / "blob.bin").write_bytes(PAYLOAD)

    class Slow(_RangeHandler):
        requests: list = []
        directory_path = served

        def do_GET(self):
            time.sleep(0.3)  # long enough for every worker to start before the first download ends
            return super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Slow, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        remote = RemoteFile("sub/blob.bin", f"http://127.0.0.1:{httpd.server_address[1]}/blob.bin", DIGEST)
        with ThreadPoolExecutor(4) as pool:
            paths = list(pool.map(lambda _: fetch("toy", remote), range(4)))
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
    assert {p.read_bytes() == PAYLOAD for p in paths} == {True}
    assert Slow.requests == [None]  # one plain download; the other workers found the verified copy
