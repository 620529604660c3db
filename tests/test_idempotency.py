"""Idempotency-Key on POST /api/v1/<modality>/generations: a repeat gets the
first request's job; the same key with another body, 409."""

import threading
import time

import pytest
import redis

from genhub import idempotency, redis_clients
from genhub.models import Job
from genhub.uploads import ReceivedFile

TEXT = "/api/v1/text/generations"


@pytest.fixture(autouse=True)
def forget_keys():
    """Keys are per user id, and ids come back after a test's rollback."""
    store = redis_clients.client()
    for key in store.scan_iter("genhub:idempotency:*"):
        store.delete(key)


def post(client, body, key=None, path=TEXT):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(path, body, content_type="application/json", headers=headers)


def test_a_repeat_returns_the_same_job_in_its_current_state(alice_api, tiny_text):
    first = post(alice_api, {"prompt": "hello"}, key="k-1")
    assert first.status_code == 202
    Job.objects.filter(pk=first.json()["id"]).update(status="running")

    again = post(alice_api, {"prompt": "hello"}, key="k-1")
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "running"
    assert Job.objects.count() == 1


def test_the_same_key_with_another_body_is_409(alice_api, tiny_text):
    assert post(alice_api, {"prompt": "hello"}, key="k-2").status_code == 202
    response = post(alice_api, {"prompt": "hello", "max_new_tokens": 5}, key="k-2")
    assert response.status_code == 409
    assert "different request" in response.json()["detail"]
    assert Job.objects.count() == 1


def test_another_user_with_the_same_key_gets_their_own_job(alice_api, bob_api, tiny_text):
    mine = post(alice_api, {"prompt": "hello"}, key="shared").json()
    theirs = post(bob_api, {"prompt": "hello"}, key="shared").json()
    assert mine["id"] != theirs["id"]
    assert Job.objects.count() == 2


def test_without_a_key_every_request_makes_a_job(alice_api, tiny_text):
    ids = {post(alice_api, {"prompt": "hello"}).json()["id"] for _ in range(3)}
    assert len(ids) == 3


def test_the_key_expires(alice_api, tiny_text, settings):
    settings.GENHUB_IDEMPOTENCY_SECONDS = 1
    first = post(alice_api, {"prompt": "hello"}, key="short").json()
    time.sleep(1.2)
    second = post(alice_api, {"prompt": "hello"}, key="short").json()
    assert first["id"] != second["id"]


def test_a_key_longer_than_255_characters_is_422(alice_api, tiny_text):
    response = post(alice_api, {"prompt": "hello"}, key="k" * 256)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert post(alice_api, {"prompt": "hello"}, key="k" * 255).status_code == 202


def test_a_refused_request_frees_its_key(alice_api, tiny_text):
    assert post(alice_api, {"prompt": "hello", "max_new_tokens": 0}, key="k-3").status_code == 422
    assert post(alice_api, {"prompt": "hello", "max_new_tokens": 1}, key="k-3").status_code == 202


def test_a_concurrent_repeat_waits_for_the_first_ones_job(alice_api, alice, tiny_text):
    # The first request has claimed the key and is still submitting: the repeat
    # waits until the job id is stored, then answers with that job.
    job = post(alice_api, {"prompt": "first"}).json()
    body = {"prompt": "hello"}
    digest = idempotency.request_digest("text", None, body)
    key = f"genhub:idempotency:{alice.pk}:{idempotency.hashlib.sha256(b'race').hexdigest()}"
    store = redis_clients.client()
    store.set(key, idempotency.json.dumps({"job": None, "request": digest}), ex=60)

    def finish_first() -> None:
        time.sleep(0.3)
        store.set(key, idempotency.json.dumps({"job": job["id"], "request": digest}), ex=60)

    threading.Thread(target=finish_first).start()
    repeat = post(alice_api, body, key="race")
    assert repeat.status_code == 202
    assert repeat.json()["id"] == job["id"]


def test_a_repeat_of_a_request_still_submitting_is_409(alice_api, alice, tiny_text, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    body = {"prompt": "hello"}
    digest = idempotency.request_digest("text", None, body)
    key = f"genhub:idempotency:{alice.pk}:{idempotency.hashlib.sha256(b'stuck').hexdigest()}"
    redis_clients.client().set(key, idempotency.json.dumps({"job": None, "request": digest}))
    response = post(alice_api, body, key="stuck")
    assert response.status_code == 409
    assert "still being submitted" in response.json()["detail"]
    assert Job.objects.count() == 0


def test_redis_away_is_503_and_makes_no_job(alice_api, tiny_text, monkeypatch):
    away = redis.Redis(port=1, socket_connect_timeout=0.2, decode_responses=True)
    monkeypatch.setattr(idempotency, "client", lambda: away)
    response = post(alice_api, {"prompt": "hello"}, key="k-4")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert Job.objects.count() == 0


def test_the_digest_reads_files_by_their_bytes():
    def digest(data: bytes) -> str:
        return idempotency.request_digest(
            "image", None, {"prompt": "a", "init_image": ReceivedFile(data, "x.png")}
        )

    assert digest(b"one") == digest(b"one")
    assert digest(b"one") != digest(b"two")
    assert idempotency.request_digest("text", None, {"a": 1, "b": 2}) == idempotency.request_digest(
        "text", None, {"b": 2, "a": 1}
    )
