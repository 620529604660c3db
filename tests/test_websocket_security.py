"""Who may open /ws/jobs/<id>/ and what a hostile client can do to it: the origin
check (scheme, host and port), frames that are not JSON, and unknown paths. The
ASGI app runs in-process on the test database and the test Redis."""

import asyncio
import json
import logging
import uuid
from collections.abc import Coroutine
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer
from django.test import Client as DjangoClient

from genhub.asgi import application
from genhub.models import AIModel, ApiKey, Job

pytestmark = pytest.mark.unit

HOST = "localhost:8000"  # as a browser on http://localhost:8000 sends it
OWN_ORIGIN = "http://localhost:8000"
TIMEOUT = 5  # the consumer reads the database and Redis from other threads


@pytest.fixture(autouse=True)
def _committed(transactional_db: None) -> None:
    """The consumer reads the database from another thread: rows must be committed."""


@pytest.fixture
def alice_job(alice: Any) -> Job:
    model = AIModel.objects.create(
        name="ws-test", modality="text", source_type="local", source="/nowhere"
    )
    return Job.objects.create(owner=alice, modality="text", model=model, prompt="hi", params={})


@pytest.fixture
def alice_cookie(alice: Any) -> str:
    browser = DjangoClient()
    browser.force_login(alice)
    return f"sessionid={browser.cookies['sessionid'].value}"


@pytest.fixture
def alice_key(alice: Any) -> str:
    return ApiKey.issue(alice)[1]


def run(scenario: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(scenario)


class Socket(ApplicationCommunicator):
    """A WebSocket client of the in-process app, with these headers (underscores
    become dashes). channels.testing would need daphne, which GenHub does not use."""

    def __init__(self, path: str, scheme: str = "ws", **headers: str) -> None:
        raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
        scope = {"type": "websocket", "scheme": scheme, "path": path, "headers": raw}
        super().__init__(application, {**scope, "query_string": b"", "subprotocols": []})

    async def connect(self) -> tuple[bool, int | None]:
        """(True, None) when accepted, else (False, the close code)."""
        await self.send_input({"type": "websocket.connect"})
        answer = await self.receive_output(TIMEOUT)
        if answer["type"] == "websocket.close":
            return False, answer.get("code")
        assert answer["type"] == "websocket.accept", answer
        return True, None

    async def receive_json(self) -> dict[str, Any]:
        message = await self.receive_output(TIMEOUT)
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def send_frame(self, **frame: Any) -> None:
        await self.send_input({"type": "websocket.receive", **frame})

    async def disconnect(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(TIMEOUT)


async def connect(communicator: Socket) -> tuple[bool, int | None]:
    connected = await communicator.connect()
    if connected[0]:
        await communicator.disconnect()
    return connected


def browser(job: Job, cookie: str, origin: str, host: str = HOST, **headers: str) -> Any:
    """Whether a logged-in browser page at `origin` gets the job's socket."""
    path = f"/ws/jobs/{job.id}/"
    return run(connect(Socket(path, host=host, origin=origin, cookie=cookie, **headers)))


# --- the origin: scheme, host and port ---------------------------------------


def test_a_page_from_genhubs_own_origin_may_use_the_session(alice_job, alice_cookie):
    assert browser(alice_job, alice_cookie, OWN_ORIGIN) == (True, None)


def test_a_page_on_another_port_of_the_same_host_is_refused(alice_job, alice_cookie):
    assert browser(alice_job, alice_cookie, "http://localhost:3000") == (False, 4403)


def test_another_scheme_is_another_origin(alice_job, alice_cookie):
    assert browser(alice_job, alice_cookie, "https://localhost:8000") == (False, 4403)
    assert browser(alice_job, alice_cookie, "null") == (False, 4403)


def test_default_ports_may_be_written_or_left_out(alice_job, alice_cookie):
    assert browser(alice_job, alice_cookie, "http://localhost", host="localhost:80")[0]
    assert browser(alice_job, alice_cookie, "http://localhost:80", host="localhost")[0]


def test_a_host_outside_allowed_hosts_is_refused_even_from_its_own_origin(alice_job, alice_cookie):
    # DNS rebinding: evil.example resolved to GenHub, its page and Host agree.
    assert browser(alice_job, alice_cookie, "http://evil.example", host="evil.example") == (
        False,
        4403,
    )


def test_wss_makes_the_page_origin_https(alice_job, alice_cookie):
    path = f"/ws/jobs/{alice_job.id}/"

    def over_tls(origin: str) -> Any:
        communicator = Socket(path, "wss", host=HOST, origin=origin, cookie=alice_cookie)
        return run(connect(communicator))

    assert over_tls("https://localhost:8000") == (True, None)
    assert over_tls(OWN_ORIGIN) == (False, 4403)


def test_behind_a_tls_proxy_the_proxy_header_gives_the_scheme(alice_job, alice_cookie, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    https = "https://localhost:8000"
    assert browser(alice_job, alice_cookie, https, x_forwarded_proto="https") == (True, None)
    assert browser(alice_job, alice_cookie, OWN_ORIGIN, x_forwarded_proto="https")[1] == 4403
    assert browser(alice_job, alice_cookie, https, x_forwarded_proto="http")[1] == 4403


def test_the_proxy_header_counts_only_when_it_is_configured(alice_job, alice_cookie, settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    forged = browser(alice_job, alice_cookie, "https://localhost:8000", x_forwarded_proto="https")
    assert forged == (False, 4403)


def test_origins_in_genhub_allowed_origins_are_allowed(alice_job, alice_cookie, settings):
    settings.GENHUB_ALLOWED_ORIGINS = ["https://app.example.com"]
    assert browser(alice_job, alice_cookie, "https://app.example.com") == (True, None)
    assert browser(alice_job, alice_cookie, "https://app.example.com:8443") == (False, 4403)
    assert browser(alice_job, alice_cookie, "http://app.example.com") == (False, 4403)


def test_a_refused_origin_is_logged_without_a_traceback(alice_job, alice_cookie, caplog):
    with caplog.at_level(logging.INFO):
        browser(alice_job, alice_cookie, "http://localhost:3000")
    assert "origin 'http://localhost:3000' is not this site's" in caplog.text
    assert not [record for record in caplog.records if record.exc_info]


def test_api_clients_without_origin_keep_using_their_key(alice_job, alice_key, alice_cookie):
    path = f"/ws/jobs/{alice_job.id}/"
    assert run(connect(Socket(path, authorization=f"Bearer {alice_key}"))) == (True, None)
    # A cookie without an Origin is not a browser: no key, no entry.
    assert run(connect(Socket(path, cookie=alice_cookie))) == (False, 4401)


# --- existing behaviour on real job paths ---------------------------------------


def test_another_users_job_and_a_missing_job_are_4404(alice_job, bob):
    bob_key = ApiKey.issue(bob)[1]
    for job_id in (alice_job.id, uuid.uuid4()):
        communicator = Socket(f"/ws/jobs/{job_id}/", authorization=f"Bearer {bob_key}")
        assert run(connect(communicator)) == (False, 4404)


def test_snapshot_then_events_by_seq_then_close_after_the_terminal_one(alice_job, alice_key):
    async def scenario() -> list[dict[str, Any]]:
        communicator = Socket(f"/ws/jobs/{alice_job.id}/", authorization=f"Bearer {alice_key}")
        assert await communicator.connect() == (True, None)
        received = [await communicator.receive_json()]
        for seq, type in ((1, "token"), (1, "token"), (2, "succeeded")):
            await publish(alice_job, seq, type)
        received.append(await communicator.receive_json())
        received.append(await communicator.receive_json())
        assert await communicator.receive_output(TIMEOUT) == {"type": "websocket.close"}
        await communicator.disconnect()
        return received

    received = run(scenario())
    assert [(event["type"], event["seq"]) for event in received] == [
        ("snapshot", 0),
        ("token", 1),
        ("succeeded", 2),
    ]


async def publish(job: Job, seq: int, type: str) -> None:
    event = {"job": str(job.id), "seq": seq, "type": type, "status": "running"}
    await get_channel_layer().group_send(job.group_name, {"type": "job.event", "event": event})


# --- frames from the client -----------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"text": "hello"},
        {"text": ""},
        {"text": "[" * 100_000},  # nested too deep for the JSON parser
        {"bytes": b"\x00\x01binary"},
    ],
    ids=["not-json", "empty", "too-deep", "binary"],
)
def test_a_frame_that_is_not_json_closes_the_socket_with_4400(alice_job, alice_key, frame, caplog):
    async def scenario() -> dict[str, Any]:
        communicator = Socket(f"/ws/jobs/{alice_job.id}/", authorization=f"Bearer {alice_key}")
        await communicator.connect()
        await communicator.receive_json()  # the snapshot
        await communicator.send_frame(**frame)
        closed = await communicator.receive_output(TIMEOUT)  # raises what the app raised
        await communicator.disconnect()
        return closed

    assert run(scenario()) == {"type": "websocket.close", "code": 4400, "reason": "bad frame"}
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_valid_json_from_the_client_is_ignored(alice_job, alice_key):
    async def scenario() -> bool:
        communicator = Socket(f"/ws/jobs/{alice_job.id}/", authorization=f"Bearer {alice_key}")
        await communicator.connect()
        await communicator.receive_json()
        await communicator.send_frame(text=json.dumps({"hello": "server"}))
        quiet = await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return quiet

    assert run(scenario())


def test_nothing_is_sent_after_a_bad_frame_closed_the_socket(alice_job, alice_key):
    # Until the disconnect arrives the consumer is still in the job's group; a send
    # after a close is a RuntimeError in the server.
    async def scenario() -> bool:
        communicator = Socket(f"/ws/jobs/{alice_job.id}/", authorization=f"Bearer {alice_key}")
        await communicator.connect()
        await communicator.receive_json()
        await communicator.send_frame(bytes=b"\x00")
        assert (await communicator.receive_output(TIMEOUT))["code"] == 4400
        await publish(alice_job, 1, "token")
        quiet = await communicator.receive_nothing(timeout=1)
        await communicator.disconnect()
        return quiet

    assert run(scenario())


# --- paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/ws/nope/", "/ws/jobs/not-a-uuid/", f"/ws/jobs/{uuid.uuid4()}/extra/", "/"],
    ids=["unknown", "not-a-uuid", "longer", "root"],
)
def test_an_unknown_path_is_refused_with_4404(alice_key, path, caplog):
    communicator = Socket(path, authorization=f"Bearer {alice_key}")
    assert run(connect(communicator)) == (False, 4404)  # not a ValueError from URLRouter
    assert not [record for record in caplog.records if record.exc_info]


def test_an_unknown_path_from_a_browser_is_refused_too(alice_cookie):
    communicator = Socket("/ws/nope/", host=HOST, origin=OWN_ORIGIN, cookie=alice_cookie)
    assert run(connect(communicator)) == (False, 4404)
