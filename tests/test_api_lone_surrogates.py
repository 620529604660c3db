"""A lone UTF-16 surrogate ("\\ud800", legal as a JSON escape, not a character) in
any string field is a 422 naming the field, on every generation endpoint; never a
500, never a job."""

import json

import pytest
from django.db import DataError, connection, transaction
from django.test import Client

from genhub.jobs import submit_job
from genhub.models import Job

LONE = "\ud800"


def post(client, path, body):
    # ensure_ascii writes the surrogate as the escape `\ud800`, as a client would send it.
    raw = json.dumps(body, ensure_ascii=True)
    assert "\\ud800" in raw
    return client.post(f"/api/v1/{path}/generations", data=raw, content_type="application/json")


@pytest.mark.parametrize(
    "path, body, loc",
    [
        ("text", {"prompt": f"a{LONE}b"}, ["body", "prompt"]),
        (
            "text",
            {"messages": [{"role": "user", "content": LONE}]},
            ["body", "messages", 0, "content"],
        ),
        ("text", {"prompt": "hi", "stop": ["x", LONE]}, ["body", "stop", 1]),
        ("text", {"prompt": "hi", "model": f"tiny{LONE}"}, ["body", "model"]),
        ("images", {"prompt": LONE}, ["body", "prompt"]),
        ("images", {"prompt": "hi", "negative_prompt": LONE}, ["body", "negative_prompt"]),
        ("images", {"prompt": "hi", "model": LONE}, ["body", "model"]),
        ("audio", {"prompt": LONE}, ["body", "prompt"]),
        ("audio", {"prompt": "hi", "model": LONE}, ["body", "model"]),
    ],
)
def test_a_lone_surrogate_is_a_422_naming_the_field(
    alice_api, tiny_text, tiny_image, tiny_audio, path, body, loc
):
    response = post(alice_api, path, body)
    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["loc"] == loc
    assert "surrogate" in error["msg"]
    assert not Job.objects.exists()


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", password="root-pass-123")


def test_a_job_stored_with_a_surrogate_still_shows(alice, root, tiny_text):
    """The API refuses such text, but a row written some other way (an older
    version, a script) must not break the job page or the admin."""
    job = submit_job(alice, "text", None, {"prompt": "hi"})
    try:
        with transaction.atomic():
            Job.objects.filter(pk=job.pk).update(
                params={**job.params, "stop": [LONE]},
                result={"text": f"a{LONE}b", f"note{LONE}": "x"},
            )
    except DataError:
        # PostgreSQL's jsonb refuses the escape `\ud800` (and every driver refuses
        # it in a text column): there such a row cannot exist, and refusing it at
        # the API, above, is all it takes. SQLite keeps it in its JSON text.
        assert connection.vendor == "postgresql"
        return
    stored = Job.objects.get(pk=job.pk)
    assert stored.params["stop"] == ["\ufffd"]
    assert stored.result == {"text": "a\ufffdb", "note\ufffd": "x"}  # keys too
    client = Client()
    client.force_login(alice)
    page = client.get(f"/jobs/{job.pk}/")
    assert page.status_code == 200
    assert "a\ufffdb" in page.content.decode()
    client.force_login(root)
    assert client.get(f"/admin/genhub/job/{job.pk}/change/").status_code == 200
