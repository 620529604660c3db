"""A Hugging Face hub on 127.0.0.1 that serves one small repo, enough for
huggingface_hub 2.4's snapshot_download over plain HTTP (no xet headers):

- GET  /api/models/{repo}[/revision/{rev}]   the commit (`sha`) and the files;
- GET  /api/models/{repo}/tree/{commit}      the files with their sizes;
- HEAD /{repo}/resolve/{rev}/{file}          X-Repo-Commit, ETag, Content-Length;
- GET  /{repo}/resolve/{rev}/{file}          the bytes, a chunk at a time.

Every request is logged in `requests`, so a test can say what the client asked."""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPO = "acme/tiny-download"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "config.json": json.dumps({"model_type": "tiny"}).encode(),
    "model.safetensors": bytes(range(256)) * (2 * 1024 * 1024 // 256),  # 2 MiB
}
CHUNK = 64 * 1024
CHUNK_PAUSE = 0.02  # seconds between chunks: the download lasts long enough to report


class FakeHub:
    def __init__(self) -> None:
        self.requests: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                hub.requests.append(f"HEAD {self.path}")
                self._serve(body=False)

            def do_GET(self) -> None:
                hub.requests.append(f"GET {self.path}")
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                path = self.path.split("?")[0]
                api = f"/api/models/{REPO}"
                if path == api or path.startswith(f"{api}/revision/"):
                    siblings = [{"rfilename": name} for name in FILES]
                    self._json({"id": REPO, "sha": COMMIT, "siblings": siblings})
                elif path.startswith(f"{api}/tree/"):
                    self._json(
                        [
                            {
                                "type": "file",
                                "path": name,
                                "size": len(data),
                                "oid": hashlib.sha1(data).hexdigest(),
                            }
                            for name, data in FILES.items()
                        ]
                    )
                elif path.startswith(f"/{REPO}/resolve/"):
                    name = path.rsplit("/", 1)[-1]
                    if name not in FILES:
                        self.send_error(404)
                        return
                    self._file(FILES[name], body)
                else:
                    self.send_error(404)

            def _json(self, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _file(self, data: bytes, body: bool) -> None:
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    for start in range(0, len(data), CHUNK):
                        self.wfile.write(data[start : start + CHUNK])
                        time.sleep(CHUNK_PAUSE)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def point_hub_at(monkeypatch: Any, url: str) -> None:
    """Make huggingface_hub ask `url`. It reads HF_ENDPOINT once, at import, into
    these two constants, and reads them again at every call."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}"
    )
