"""A prompt through the REST API, a real Celery worker and the WebSocket."""

import time

import pytest

from tests.stack import read_events, read_until_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_tokens_stream_to_the_websocket_and_add_up_to_the_result(alice_client, text_worker):
    job = alice_client.generate_text(prompt="Hello world", max_new_tokens=64, seed=1)
    assert job["status"] == "queued"
    assert job["links"]["events"].endswith(f"/ws/jobs/{job['id']}/")

    with alice_client.events(job["id"]) as socket:
        events = read_events(socket)

    assert events[0]["type"] == "snapshot"
    seqs = [e["seq"] for e in events[1:]]
    assert seqs == list(range(events[0]["seq"] + 1, events[0]["seq"] + 1 + len(seqs)))
    assert events[-1]["type"] == "succeeded"
    streamed = events[0]["text"] + "".join(e["text"] for e in events if e["type"] == "token")
    final = alice_client.job(job["id"])
    assert final["status"] == "succeeded"
    assert final["result"]["text"] == streamed == events[-1]["result"]["text"]
    assert final["result"]["usage"]["completion_tokens"] == 64
    assert final["result"]["finish_reason"] == "length"
    assert final["progress"] == 1.0
    assert final["attempts"] == 1


def test_a_late_connection_gets_the_outcome_in_the_snapshot(alice_client, text_worker):
    job = alice_client.generate_text(prompt="Hello", max_new_tokens=16)
    done = alice_client.wait(job["id"], {"succeeded"})
    with alice_client.events(job["id"]) as socket:
        events = read_events(socket, timeout=10)
    assert [e["type"] for e in events] == ["snapshot"]
    assert events[0]["status"] == "succeeded"
    assert events[0]["result"]["text"] == done["result"]["text"]
    assert events[0]["text"] == done["result"]["text"]


def test_connecting_mid_run_misses_nothing(alice_client, text_worker):
    job = alice_client.generate_text(prompt="Hello", max_new_tokens=1500)
    with alice_client.events(job["id"]) as first:
        read_until_token(first)
    with alice_client.events(job["id"]) as late:
        events = read_events(late)
    snapshot = events[0]
    assert snapshot["type"] == "snapshot" and snapshot["status"] == "running"
    assert snapshot["text"], "the snapshot holds the text streamed before the connection"
    streamed = snapshot["text"] + "".join(e["text"] for e in events if e["type"] == "token")
    assert streamed == alice_client.job(job["id"])["result"]["text"]
    assert [e["seq"] for e in events[1:]] == list(range(snapshot["seq"] + 1, events[-1]["seq"] + 1))


def test_cancel_stops_a_running_job_within_a_token(alice_client, text_worker):
    job = alice_client.generate_text(prompt="Hello", max_new_tokens=4096)
    with alice_client.events(job["id"]) as socket:
        before = read_until_token(socket)
        response = alice_client.http.post(f"/jobs/{job['id']}/cancel")
        asked = time.monotonic()
        assert response.status_code == 202
        after = read_events(socket, timeout=10)
        stopped_within = time.monotonic() - asked
    events = before + after
    assert events[-1]["type"] == "cancelled"
    final = alice_client.job(job["id"])
    assert final["status"] == "cancelled"
    assert final["cancel_requested"] is True
    # What was generated is kept, and is exactly what was streamed.
    tokens = "".join(e["text"] for e in events if e["type"] == "token")
    assert final["result"]["text"] == events[0]["text"] + tokens
    assert final["result"]["finish_reason"] == "cancelled"
    assert final["result"]["usage"]["completion_tokens"] < 4096
    # 4096 tokens take seconds on this model; a stop at the next token takes milliseconds.
    assert stopped_within < 1.0


def test_a_cancelled_queued_job_never_runs(alice_client, text_worker):
    busy = alice_client.generate_text(prompt="Hello", max_new_tokens=4096)
    with alice_client.events(busy["id"]) as socket:
        read_until_token(socket)
        waiting = alice_client.generate_text(prompt="Hello", max_new_tokens=8)
        assert alice_client.job(waiting["id"])["status"] == "queued"
        cancelled = alice_client.http.post(f"/jobs/{waiting['id']}/cancel").json()
        assert cancelled["status"] == "cancelled"
        alice_client.http.post(f"/jobs/{busy['id']}/cancel")
        read_events(socket, timeout=10)
    # The worker takes the cancelled job's message next, and must leave it alone.
    sentinel = alice_client.generate_text(prompt="Hello", max_new_tokens=4)
    alice_client.wait(sentinel["id"], {"succeeded"})
    job = alice_client.job(waiting["id"])
    assert job["status"] == "cancelled"
    assert job["started_at"] is None and job["attempts"] == 0 and job["result"] is None


def test_a_duplicated_task_message_runs_the_job_once(alice_client, text_worker):
    from genhub import redis_clients
    from genhub.worker.tasks import run_job

    def run_one_more_job():
        # One worker, one queue: when a later job is done, every earlier message
        # has been handled and its events sent.
        sentinel = alice_client.generate_text(prompt="Hello", max_new_tokens=4)
        alice_client.wait(sentinel["id"], {"succeeded"})

    job = alice_client.generate_text(prompt="Hello", max_new_tokens=32)
    done = alice_client.wait(job["id"], {"succeeded"})
    run_one_more_job()
    seq = redis_clients.client().get(f"genhub:job:{job['id']}:seq")

    run_job.apply_async(args=[job["id"]], queue="text")  # the broker delivers it again
    run_one_more_job()

    again = alice_client.job(job["id"])
    assert again["attempts"] == 1
    assert again["started_at"] == done["started_at"]
    assert again["finished_at"] == done["finished_at"]
    assert again["result"] == done["result"]
    assert redis_clients.client().get(f"genhub:job:{job['id']}:seq") == seq  # no new events


def test_the_model_is_loaded_once_for_two_jobs(alice_client, text_worker, tiny_text, tmp_path):
    import shutil

    from genhub.models import AIModel

    # A copy at a new path is a model this worker has never loaded.
    source = shutil.copytree(tiny_text.source, tmp_path / "copy")
    AIModel.objects.create(
        name="tiny-copy", modality="text", source_type="local", source=str(source)
    )
    first = alice_client.generate_text(model="tiny-copy", prompt="Hello", max_new_tokens=4)
    first = alice_client.wait(first["id"], {"succeeded"})
    second = alice_client.generate_text(model="tiny-copy", prompt="Hello", max_new_tokens=4)
    second = alice_client.wait(second["id"], {"succeeded"})
    assert first["metrics"]["model_cache_hit"] is False
    assert second["metrics"]["model_cache_hit"] is True
    assert second["metrics"]["load_seconds"] == first["metrics"]["load_seconds"]


def test_another_users_job_refuses_the_websocket(alice_client, bob_client, text_worker):
    from websockets.exceptions import InvalidStatus

    job = alice_client.generate_text(prompt="Hello", max_new_tokens=4)
    assert bob_client.http.get(f"/jobs/{job['id']}").status_code == 404
    with pytest.raises(InvalidStatus) as refused:
        bob_client.events(job["id"])
    assert refused.value.response.status_code == 403


def test_a_websocket_without_credentials_is_refused(alice_client, live):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    job = alice_client.generate_text(prompt="Hello", max_new_tokens=4)
    with pytest.raises(InvalidStatus):
        connect(f"{live.ws_url}/ws/jobs/{job['id']}/", open_timeout=10)


def test_browser_sessions_must_come_from_an_allowed_origin(alice_client, alice, live, text_worker):
    from django.test import Client as DjangoClient
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    job = alice_client.generate_text(prompt="Hello", max_new_tokens=4)
    browser = DjangoClient()
    browser.force_login(alice)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    url = f"{live.ws_url}/ws/jobs/{job['id']}/"

    with connect(
        url, open_timeout=10, origin=live.url, additional_headers={"Cookie": cookie}
    ) as ok:
        assert read_events(ok)[-1]["type"] in {"snapshot", "succeeded"}
    with pytest.raises(InvalidStatus):
        connect(
            url,
            open_timeout=10,
            origin="http://evil.example",
            additional_headers={"Cookie": cookie},
        )
    with pytest.raises(
        InvalidStatus
    ):  # a cookie without an Origin is not a browser: no key, no entry
        connect(url, open_timeout=10, additional_headers={"Cookie": cookie})
