"""A local stand-in for download.pytorch.org and the Hugging Face hub (stdlib ``http.server`` in a thread).

``HubServer.add_url(name, data)`` serves ``/files/<name>``; ``add_hub_file(repo_id, filename, data)`` serves the
routes ``hf_hub_download`` uses: HEAD/GET ``/<repo_id>/resolve/<revision>/<filename>`` with the ``X-Repo-Commit``,
``ETag`` / ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size`` headers huggingface_hub 2.x reads. Point
``HF_ENDPOINT`` at ``server.url``. ``requests`` counts what was asked for.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
                self._answer(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                path = self.path.split("?", 1)[0]
                server.requests[f"{self.command} {path}"] += 1
                data = server.files.get(path)
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                digest = hashlib.sha256(data).hexdigest()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{digest}"')
                self.send_header("X-Linked-Etag", f'"{digest}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add_url(self, name: str, data: bytes) -> str:
        """Serve ``data`` at ``/files/<name>``; returns the URL."""
        self.files[f"/files/{name}"] = data
        return f"{self.url}/files/{name}"

    def add_hub_file(self, repo_id: str, filename: str, data: bytes, revision: str = "main") -> None:
        """Serve ``data`` as ``filename`` of the hub repository ``repo_id`` at ``revision`` (and at the commit)."""
        for rev in (revision, COMMIT):
            self.files[f"/{repo_id}/resolve/{rev}/{filename}"] = data

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
