"""What a status read costs, and what its savings must not give away: a key each
web process trusts for a few seconds (genhub/key_cache.py) is refused within
that bound once revoked, expired or its user deactivated; its last use is still
recorded; the status read keeps to a few queries; and relaying a job's events
takes no trip to a thread."""

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from genhub import key_cache, shared_reads
from genhub.models import AIModel, ApiKey, Job, JobStatus, Worker


def bearer(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture(autouse=True)
def empty_cache() -> Any:
    key_cache.clear()
    yield
    key_cache.clear()


@pytest.fixture
def model(db: None) -> AIModel:
    return AIModel.objects.create(
        name="costs-text", modality="text", source_type=AIModel.SourceType.LOCAL, source="/none"
    )


def _job(owner: Any, model: AIModel, status: str = JobStatus.SUCCEEDED) -> Job:
    now = timezone.now()
    done = status == JobStatus.SUCCEEDED
    return Job.objects.create(
        owner=owner,
        modality="text",
        model=model,
        prompt="hi",
        params={"max_new_tokens": 8},
        status=status,
        started_at=now - timedelta(seconds=2) if done else None,
        finished_at=now if done else None,
    )


def test_a_key_revoked_on_the_account_page_is_refused_at_once(alice):
    row, key = ApiKey.issue(alice)
    assert bearer(key).get("/api/v1/jobs").status_code == 200
    row.revoke()
    assert bearer(key).get("/api/v1/jobs").status_code == 401


def test_a_deactivated_user_is_refused_at_once(alice):
    _, key = ApiKey.issue(alice)
    assert bearer(key).get("/api/v1/jobs").status_code == 200
    alice.is_active = False
    alice.save()
    assert bearer(key).get("/api/v1/jobs").status_code == 401


def test_a_key_revoked_by_another_process_is_refused_within_the_bound(alice, settings):
    settings.GENHUB_API_KEY_CACHE_SECONDS = 0.3
    _, key = ApiKey.issue(alice)
    assert bearer(key).get("/api/v1/jobs").status_code == 200
    # A bare UPDATE sends no signal: what another web process sees of a revocation here.
    ApiKey.objects.update(revoked_at=timezone.now())
    time.sleep(0.4)
    assert bearer(key).get("/api/v1/jobs").status_code == 401


def test_a_kept_key_is_refused_once_it_expires(alice):
    _, key = ApiKey.issue(alice, expires_at=timezone.now() + timedelta(seconds=1))
    assert bearer(key).get("/api/v1/jobs").status_code == 200
    time.sleep(1.1)
    assert bearer(key).get("/api/v1/jobs").status_code == 401


def test_a_granted_permission_counts_at_once(operator, bob, model):
    _, key = ApiKey.issue(bob)
    job = _job(operator, model)
    assert bearer(key).get(f"/api/v1/jobs/{job.id}").status_code == 404
    operator.groups.first().user_set.add(bob)
    assert bearer(key).get(f"/api/v1/jobs/{job.id}").status_code == 200


def test_last_use_is_written_once_a_minute(alice):
    row, key = ApiKey.issue(alice)
    client = bearer(key)
    client.get("/api/v1/jobs")
    row.refresh_from_db()
    first = row.last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/jobs")
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    row.refresh_from_db()
    assert row.last_used_at == first


def test_a_finished_jobs_status_read_takes_one_query(alice, model, django_assert_max_num_queries):
    _, key = ApiKey.issue(alice)
    job = _job(alice, model)
    client = bearer(key)
    assert client.get(f"/api/v1/jobs/{job.id}").status_code == 200  # the key is checked once
    with django_assert_max_num_queries(1):  # the job, its model and artifacts (job_reads.py)
        response = client.get(f"/api/v1/jobs/{job.id}")
    assert response.json()["status"] == "succeeded"


def _a_queued_job_with_a_worker(owner: Any, model: AIModel) -> tuple[Client, Job]:
    """A client with `owner`'s key, which has read the job once (key checked)."""
    _, key = ApiKey.issue(owner)
    _job(owner, model)  # a recent run, for the ETA
    queued = _job(owner, model, JobStatus.QUEUED)
    Worker.objects.create(node="w@h", hostname="h", pid=1, queues="text", pool="solo", version="t")
    client = bearer(key)
    client.get(f"/api/v1/jobs/{queued.id}")
    return client, queued


def test_a_queued_jobs_status_read_stays_bounded(alice, model, django_assert_max_num_queries):
    client, queued = _a_queued_job_with_a_worker(alice, model)
    with django_assert_max_num_queries(8):  # the job, artifacts, workers, ETA and place
        body = client.get(f"/api/v1/jobs/{queued.id}").json()
    assert body["queue_position"] == 1 and body["waiting"].startswith("#1 in queue 'text'")


def _asgi_get(path: str, key: str) -> tuple[int, bytes]:
    """GET `path` through genhub.asgi's application, as uvicorn calls it."""
    from genhub.asgi import application

    sent: list[dict[str, Any]] = []
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never goes away
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {key}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(application(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


@pytest.mark.django_db(transaction=True)
def test_the_asgi_app_answers_a_status_read_and_a_wrong_key(alice, model):
    _, key = ApiKey.issue(alice)
    job = _job(alice, model)
    status, body = _asgi_get(f"/api/v1/jobs/{job.id}", key)
    assert status == 200 and str(job.id).encode() in body
    status, _ = _asgi_get(f"/api/v1/jobs/{job.id}", key + "x")
    assert status == 401
    status, _ = _asgi_get("/api/v1/jobs/00000000-0000-0000-0000-000000000000", key)
    assert status == 404


def test_status_reads_of_one_queue_share_its_order_for_a_moment(
    alice, model, settings, django_assert_max_num_queries
):
    settings.GENHUB_QUEUE_READ_SECONDS = 60
    shared_reads.forget_all()
    client, first = _a_queued_job_with_a_worker(alice, model)
    with django_assert_max_num_queries(1):  # the job and its artifacts: the rest is shared
        body = client.get(f"/api/v1/jobs/{first.id}").json()
    assert body["queue_position"] == 1 and body["eta_basis"] == "recent runs"
    # A job newer than the kept order is not left without a place: the queue is read again.
    second = _job(alice, model, JobStatus.QUEUED)
    body = client.get(f"/api/v1/jobs/{second.id}").json()
    assert body["queue_position"] == 2 and body["waiting"].startswith("#2 in queue 'text'")
    shared_reads.forget_all()


def test_a_shared_queue_read_is_read_again_once_older_than_the_bound(alice, model, settings):
    settings.GENHUB_QUEUE_READ_SECONDS = 0.3
    shared_reads.forget_all()
    _, key = ApiKey.issue(alice)
    queued = _job(alice, model, JobStatus.QUEUED)
    client = bearer(key)
    assert "No worker serves it" in client.get(f"/api/v1/jobs/{queued.id}").json()["waiting"]
    Worker.objects.create(node="w@h", hostname="h", pid=1, queues="text", pool="solo", version="t")
    time.sleep(0.35)
    assert "1 worker serves it" in client.get(f"/api/v1/jobs/{queued.id}").json()["waiting"]
    shared_reads.forget_all()


@pytest.mark.django_db(transaction=True)
def test_the_asgi_app_serves_requests_one_after_another_on_one_kept_thread(alice, model):
    """A request's sync part goes to a pool thread that serves request after
    request (genhub/asgi_http.py), not to a new thread each time, so the thread's
    database connection is kept (CONN_MAX_AGE) instead of opened each time."""
    from django.core.signals import request_started

    from genhub.asgi import django_asgi_app

    _, key = ApiKey.issue(alice)
    job = _job(alice, model)
    threads: set[int] = set()

    def note_thread(**_: Any) -> None:
        threads.add(threading.get_ident())

    request_started.connect(note_thread)
    try:
        for _ in range(20):
            status, _ = _asgi_get(f"/api/v1/jobs/{job.id}", key)
            assert status == 200
    finally:
        request_started.disconnect(note_thread)
    # Django's own handler would use 20 threads. A pool thread counts itself idle
    # just after its request's answer is handed over, so the next request may
    # find none idle yet and start another: a few, not one.
    assert len(threads) <= 5 and threading.get_ident() not in threads
    assert len(django_asgi_app.threads._threads) <= 5


def test_the_version_answers_without_a_key_or_a_query(db, django_assert_num_queries):
    """GET /api/v1/version: the API's trivial endpoint (bench/web.py measures
    the status read against it), and what a client checks before it sends work."""
    import genhub

    with django_assert_num_queries(0):
        response = Client().get("/api/v1/version")
    assert response.status_code == 200
    assert response.json() == {"version": genhub.__version__, "api": "1"}


def test_the_status_read_and_the_job_list_answer_what_their_schemas_give(alice, model):
    """GET /api/v1/jobs and GET /api/v1/jobs/{id} render job_out's answers
    themselves, unchecked by ninja (genhub/api/jobs.py): the page must be what
    JobPage makes of it, as ninja would render it (json.dumps tells 1 from 1.0, and
    key order counts), and each status read what the page gives for its job."""
    import json

    from ninja.renderers import JSONRenderer

    from genhub import artifacts
    from genhub.api.schemas import JobPage

    client, queued = _a_queued_job_with_a_worker(alice, model)
    finished = _job(alice, model)
    Job.objects.filter(pk=finished.pk).update(
        progress=1, result={"text": "hi", "usage": {"completion_tokens": 1}}, metrics={"s": 1}
    )
    artifacts.save_output(finished, 0, b"x", mime_type="audio/wav", extension="wav", seed=3)
    failed = _job(alice, model, JobStatus.FAILED)
    Job.objects.filter(pk=failed.pk).update(error="The model ran out of memory.")
    page = client.get("/api/v1/jobs").json()
    checked = JobPage.model_validate(page).model_dump()
    rendered = json.loads(JSONRenderer().render(None, checked, response_status=200))
    assert json.dumps(page) == json.dumps(rendered)
    assert {len(job["artifacts"]) for job in page["items"]} == {0, 1}
    listed = {job["id"]: job for job in page["items"]}
    for job in (finished, failed, queued):
        response = client.get(f"/api/v1/jobs/{job.id}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json; charset=utf-8"
        read, item = response.json(), listed[str(job.id)]
        if job is queued:  # seconds to go are counted again at each read
            for name in ("eta", "eta_seconds", "eta_start_seconds"):
                assert type(read.pop(name)) is type(item.pop(name))
        # json.dumps tells 1 from 1.0, which == does not.
        assert json.dumps(read, sort_keys=True) == json.dumps(item, sort_keys=True)
        assert list(read) == [name for name in list(item) if name in read]


def test_the_web_process_leaves_what_startup_made_out_of_garbage_collection() -> None:
    """genhub/asgi.py freezes startup's objects, views included, so a full
    collection under load walks only what requests made (docs/benchmarks.md)."""
    probe = (
        "import gc, sys; import genhub.asgi; "
        "print(gc.get_freeze_count(), 'genhub.api.jobs' in sys.modules, len(gc.get_objects(2)))"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "genhub.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, views_loaded, oldest_generation = answer.stdout.split()
    assert int(frozen) > 50_000, answer.stdout
    assert views_loaded == "True"
    assert int(oldest_generation) < int(frozen) // 10  # what is left to walk is small


@pytest.mark.django_db(transaction=True)
def test_relaying_a_jobs_events_takes_no_trip_to_a_thread(alice, model, monkeypatch):
    # Channels' dispatch closes stale database connections in a thread before
    # every message; JobConsumer's does not (its reads close their own), and that
    # trip was most of what an event cost the web process (docs/benchmarks.md).
    from genhub import events
    from genhub.api.consumers import JobConsumer

    job = _job(alice, model, JobStatus.RUNNING)
    trips = []

    async def counted() -> None:
        trips.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counted)

    async def follow() -> list[dict[str, Any]]:
        # The consumer as the server runs it: ASGI messages in, ASGI messages out.
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {
            "type": "websocket",
            "path": f"/ws/jobs/{job.id}/",
            "headers": [],
            "subprotocols": [],
            "user": alice,
            "url_route": {"args": (), "kwargs": {"job_id": str(job.id)}},
        }
        running = asyncio.create_task(JobConsumer.as_asgi()(scope, inbox.get, outbox.put))

        async def sent() -> dict[str, Any]:
            message = await asyncio.wait_for(outbox.get(), timeout=10)
            assert message["type"] == "websocket.send", message
            return json.loads(message["text"])

        await inbox.put({"type": "websocket.connect"})
        assert (await asyncio.wait_for(outbox.get(), timeout=10))["type"] == "websocket.accept"
        got = [await sent()]  # the snapshot
        for step in (1, 2, 3):
            job.progress = step / 3
            await asyncio.to_thread(events.publish, job, "step", state={"step": step, "total": 3})
            got.append(await sent())
        await inbox.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(running, timeout=10)
        return got

    got = asyncio.run(follow())
    assert [event["type"] for event in got] == ["snapshot", "step", "step", "step"]
    assert [event.get("step") for event in got[1:]] == [1, 2, 3]
    assert trips == []
