"""A prompt through the REST API, a real Celery worker and the WebSocket."""

import pytest

from tests.stack import read_events

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
