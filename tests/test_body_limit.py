"""A request body over GENHUB_MAX_REQUEST_BYTES is refused by the real server
before anything stores it: a 413 in JSON, at once, and the server's temporary
folder never holds more than the limit (Django alone spools a whole body there
before any view or auth runs)."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from genhub.body_limit import BodyLimit
from tests.stack import WebServer

pytestmark = pytest.mark.e2e

LIMIT = 2**20
CHUNK = 2**20
URL = "/api/v1/images/generations"


@pytest.fixture(scope="module")
def server_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's TMPDIR: where Django spools a body past 2.5 MB."""
    return tmp_path_factory.mktemp("body-limit-tmp")


@pytest.fixture(scope="module")
def server(stack_env: dict[str, str], stack_logs: Path, server_tmp: Path) -> Iterator[WebServer]:
    # Its own server, as the limit is read at start.
    env = {**stack_env, "GENHUB_MAX_REQUEST_BYTES": str(LIMIT), "TMPDIR": str(server_tmp)}
    web = WebServer(env, stack_logs / "body-limit-web.log")
    yield web
    web.stop()


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


class Upload:
    """`total` bytes in 1 MiB chunks that notes, before each chunk, how much the
    server's temporary folder holds: the server spools as it receives."""

    def __init__(self, tmp: Path, total: int) -> None:
        self.tmp = tmp
        self.total = total
        self.baseline = folder_bytes(tmp)
        self.most_stored = 0

    def note(self) -> None:
        self.most_stored = max(self.most_stored, folder_bytes(self.tmp) - self.baseline)

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.total // CHUNK):
            self.note()
            yield b" " * CHUNK
        self.note()


def post(server: WebServer, upload: Upload, **headers: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(
        server.url + URL,
        content=iter(upload),
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )
    upload.note()
    return response, time.monotonic() - started


def assert_refused(response: httpx.Response, seconds: float) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/json"
    assert "limit of 1 MiB" in response.json()["detail"]
    assert seconds < 5


def test_a_declared_length_over_the_limit_is_refused_before_reading(server, server_tmp):
    # It claims 3 GiB; the server answers from the headers alone.
    upload = Upload(server_tmp, 64 * CHUNK)
    response, seconds = post(server, upload, **{"Content-Length": str(3 * 2**30)})
    assert upload.most_stored == 0
    assert_refused(response, seconds)


def test_a_chunked_body_is_cut_off_at_the_limit(server, server_tmp):
    upload = Upload(server_tmp, 8 * LIMIT)  # no length given: sent chunked
    response, seconds = post(server, upload)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert upload.most_stored <= LIMIT
    assert_refused(response, seconds)


def test_a_body_under_the_limit_still_reaches_the_api(server):
    response = httpx.post(server.url + URL, json={"prompt": "x" * (LIMIT // 2)}, timeout=30)
    assert response.status_code == 401  # no key: the API itself answered
    log = server.log.read_text()
    assert "Traceback" not in log and "Error" not in log, log


def test_the_app_gets_nothing_past_the_limit_and_says_nothing_after_the_413(settings):
    settings.GENHUB_MAX_REQUEST_BYTES = 10
    chunks = [b"12345678", b"12345678", b"12345678"]
    seen, sent = [], []

    async def receive():
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):  # reads to the end, as Django does, then answers
        while (message := await receive())["type"] == "http.request":
            seen.append(message["body"])
        seen.append(message["type"])
        await send({"type": "http.response.start", "status": 200, "headers": []})

    scope = {"type": "http", "headers": [(b"transfer-encoding", b"chunked")]}
    asyncio.run(BodyLimit(app)(scope, receive, send))
    assert seen == [b"12345678", "http.disconnect"]
    assert [m.get("status") for m in sent] == [413, None]  # the start, then its body
