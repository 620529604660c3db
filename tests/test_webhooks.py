"""Webhooks: a job that ends is POSTed, signed, to its callback_url; retried
after a failing answer; never sent to a private address unless allowed."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings

from genhub import jobs, webhooks
from genhub.models import Job, JobStatus

TEXT = "/api/v1/text/generations"


class Receiver:
    """An HTTP server on 127.0.0.1 that answers each POST with the next status."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver([])
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def allow_private(settings: Any) -> None:
    settings.GENHUB_WEBHOOK_ALLOW_PRIVATE = True


def ended_job(owner: Any, model: Any, url: str) -> Job:
    return Job.objects.create(
        owner=owner,
        modality="text",
        model=model,
        prompt="hello",
        params={"prompt": "hello"},
        status=JobStatus.SUCCEEDED,
        result={"text": "world"},
        callback_url=url,
    )


def verify(header: str, body: bytes) -> bool:
    """What a receiver does: recompute the HMAC over "<t>.<body>"."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    message = fields["t"].encode() + b"." + body
    expected = hmac.new(settings.GENHUB_WEBHOOK_SECRET.encode(), message, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), fields["v1"])


def test_the_job_arrives_signed(alice, tiny_text, receiver, allow_private):
    job = ended_job(alice, tiny_text, receiver.url())
    webhooks.deliver(str(job.id))

    [(path, headers, body)] = receiver.requests
    assert path == "/hook"
    assert verify(headers["X-GenHub-Signature"], body)
    sent = json.loads(body)
    assert sent["id"] == str(job.id)
    assert sent["status"] == "succeeded"
    assert sent["result"] == {"text": "world"}
    assert sent["links"]["self"] == f"/api/v1/jobs/{job.id}"


def test_a_tampered_body_fails_verification(alice, tiny_text, receiver, allow_private):
    webhooks.deliver(str(ended_job(alice, tiny_text, receiver.url()).id))
    [(_, headers, body)] = receiver.requests
    assert not verify(headers["X-GenHub-Signature"], body.replace(b"world", b"WORLD"))


def test_a_failing_first_answer_is_retried(alice, tiny_text, receiver, allow_private):
    receiver.statuses = [500, 200]
    job = ended_job(alice, tiny_text, receiver.url())
    with pytest.raises(webhooks.DeliveryFailed):
        webhooks.deliver(str(job.id))
    webhooks.deliver(str(job.id))
    assert len(receiver.requests) == 2
    assert all(verify(h["X-GenHub-Signature"], b) for _, h, b in receiver.requests)


def test_the_task_retries_with_backoff(alice, tiny_text, receiver, allow_private, settings):
    from genhub.worker.tasks import deliver_webhook

    settings.CELERY_TASK_ALWAYS_EAGER = True
    receiver.statuses = [500, 503, 200]
    job = ended_job(alice, tiny_text, receiver.url())
    deliver_webhook.apply(args=[str(job.id)])  # eager: a retry runs at once
    assert len(receiver.requests) == 3
    assert [webhooks.retry_delay(n) for n in range(5)] == [10, 30, 90, 270, 600]


def test_redirects_are_not_followed(alice, tiny_text, receiver, allow_private):
    receiver.statuses = [302]
    job = ended_job(alice, tiny_text, receiver.url())
    with pytest.raises(webhooks.DeliveryFailed, match="302"):
        webhooks.deliver(str(job.id))
    assert [path for path, _, _ in receiver.requests] == ["/hook"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_target_is_refused_at_delivery(alice, tiny_text, receiver, host):
    # Stored past the submit check (say DNS changed since): delivery checks again.
    job = ended_job(alice, tiny_text, receiver.url(host))
    with pytest.raises(webhooks.TargetRefused):
        webhooks.deliver(str(job.id))
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_a_private_target_is_refused_at_submit(alice_api, url):
    response = alice_api.post(
        TEXT, {"prompt": "hi", "callback_url": url}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "callback_url"]
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "http://user:pw@example.com/x", "not a url", "http://x/" + "a" * 2000],
)
def test_a_bad_callback_url_is_422(alice_api, url, allow_private):
    response = alice_api.post(
        TEXT, {"prompt": "hi", "callback_url": url}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "callback_url"]


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://example.com/\u0000", "control character"),
        ("http://exa\u0000mple.com/", "control character"),
        ("http://..com/", "not a valid host name"),
        ("http://" + "a" * 64 + ".com/", "not a valid host name"),
    ],
)
def test_a_url_that_cannot_be_stored_or_resolved_is_422(alice_api, tiny_text, url, reason):
    # Each was a 500 (found by tests/test_api_fuzz.py): a DataError storing the NUL,
    # or a UnicodeError from the IDNA encoding of an empty or too long label.
    response = alice_api.post(
        TEXT, {"prompt": "hi", "callback_url": url}, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "callback_url"]
    assert reason in error["msg"]
    assert Job.objects.count() == 0


def test_the_url_is_stored_and_the_end_of_the_job_sends_it(
    alice_api, tiny_text, receiver, allow_private, monkeypatch, django_capture_on_commit_callbacks
):
    response = alice_api.post(
        TEXT, {"prompt": "hi", "callback_url": receiver.url()}, content_type="application/json"
    )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.callback_url == receiver.url()

    sent: list[tuple[str, list[str], str]] = []
    monkeypatch.setattr(
        jobs.celery_app, "send_task", lambda name, args, queue: sent.append((name, args, queue))
    )
    with django_capture_on_commit_callbacks(execute=True):
        jobs.cancel_job(job)
    assert sent == [("genhub.deliver_webhook", [str(job.id)], "webhooks")]
