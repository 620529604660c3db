"""GET /jobs, GET /jobs/{id}, POST /jobs/{id}/cancel and GET /models, as
alice (owner), bob (someone else), staff and an operator."""

import uuid

import pytest
from django.urls import reverse

from genhub.jobs import claim_job, submit_job
from genhub.models import Job


@pytest.fixture
def alice_job(alice, tiny_text):
    return submit_job(alice, "text", None, {"prompt": "alice's secret"})


def test_owner_sees_her_job(alice_api, alice_job):
    job = alice_api.get(f"/api/v1/jobs/{alice_job.id}").json()
    assert job["id"] == str(alice_job.id)
    assert job["prompt"] == "alice's secret"
    assert job["links"]["events"] == f"ws://testserver/ws/jobs/{alice_job.id}/"
    assert job["links"]["self"] == f"http://testserver{reverse('api:job_detail', args=[job['id']])}"
    assert (
        job["links"]["cancel"] == f"http://testserver{reverse('api:job_cancel', args=[job['id']])}"
    )


def test_another_users_job_is_404_everywhere(bob_api, alice_job):
    assert bob_api.get(f"/api/v1/jobs/{alice_job.id}").status_code == 404
    assert bob_api.post(f"/api/v1/jobs/{alice_job.id}/cancel").status_code == 404
    assert bob_api.get("/api/v1/jobs").json()["count"] == 0
    alice_job.refresh_from_db()
    assert alice_job.status == "queued"


def test_operators_see_every_job(operator_api, alice_job):
    assert operator_api.get(f"/api/v1/jobs/{alice_job.id}").status_code == 200
    assert operator_api.get("/api/v1/jobs").json()["count"] == 1


def test_unknown_and_malformed_ids(alice_api, db):
    assert alice_api.get(f"/api/v1/jobs/{uuid.uuid4()}").status_code == 404
    assert alice_api.get("/api/v1/jobs/not-a-uuid").status_code in (404, 422)


def test_list_is_paginated_and_filtered(alice_api, alice, tiny_text):
    for i in range(25):
        submit_job(alice, "text", None, {"prompt": f"prompt {i}"})
    Job.objects.filter(prompt="prompt 3").update(status="failed")

    first = alice_api.get("/api/v1/jobs").json()
    assert first["count"] == 25
    assert len(first["items"]) == 20
    assert first["items"][0]["prompt"] == "prompt 24"  # newest first
    second = alice_api.get(first["next"].replace("http://testserver", "")).json()
    assert len(second["items"]) == 5
    assert second["next"] is None

    failed = alice_api.get("/api/v1/jobs?status=failed").json()
    assert [j["prompt"] for j in failed["items"]] == ["prompt 3"]
    assert alice_api.get("/api/v1/jobs?modality=image").json()["count"] == 0
    assert (
        alice_api.get("/api/v1/jobs?page_size=5&page=2").json()["items"][0]["prompt"] == "prompt 19"
    )


def test_list_rejects_bad_filters(alice_api, db):
    assert alice_api.get("/api/v1/jobs?status=exploded").status_code == 422
    assert alice_api.get("/api/v1/jobs?page=0").status_code == 422
    assert alice_api.get("/api/v1/jobs?page_size=1000").status_code == 422
    assert alice_api.get("/api/v1/jobs?page=10000000000000000000").status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/models"])
def test_a_nul_in_the_modality_filter_is_a_422_naming_it(alice_api, db, path):
    # PostgreSQL cannot compare text holding NUL: this was a 500 (found by tests/test_api_fuzz.py).
    response = alice_api.get(f"{path}?modality=te%00xt")
    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "modality"]
    assert "NUL" in error["msg"]


def test_cancelling_a_queued_job_ends_it_at_once(alice_api, alice_job):
    response = alice_api.post(f"/api/v1/jobs/{alice_job.id}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    # The message still in the queue finds nothing to run.
    assert claim_job(str(alice_job.id), "worker/1") is None


def test_cancelling_a_running_job_asks_it_to_stop(alice_api, alice_job):
    claim_job(str(alice_job.id), "worker/1")
    job = alice_api.post(f"/api/v1/jobs/{alice_job.id}/cancel").json()
    assert job["status"] == "running"
    assert job["cancel_requested"] is True


def test_cancelling_a_finished_job_is_a_409(alice_api, alice_job):
    Job.objects.filter(pk=alice_job.pk).update(status="succeeded")
    response = alice_api.post(f"/api/v1/jobs/{alice_job.id}/cancel")
    assert response.status_code == 409
    assert "already succeeded" in response.json()["detail"]


def test_models_lists_enabled_models_and_hides_paths_from_non_staff(
    alice_api, staff_api, tiny_text
):
    models = alice_api.get("/api/v1/models").json()
    assert [(m["name"], m["is_default"], m["source"]) for m in models] == [
        ("tiny-text", True, None)
    ]
    assert staff_api.get("/api/v1/models").json()[0]["source"] == tiny_text.source
    tiny_text.enabled = False
    tiny_text.save()
    assert alice_api.get("/api/v1/models").json() == []


@pytest.mark.django_db(transaction=True)  # the job is sent after a real commit
def test_a_broker_that_cannot_be_reached_is_a_503_and_a_failed_job(alice_api, tiny_text):
    from kombu import pools

    from genhub.celery import app
    from genhub.models import Job
    from tests.services import free_port

    def fresh_connections():
        # Drop every pooled broker connection, so the next send connects anew.
        pools.reset()
        app._after_fork()

    real_broker = app.conf.broker_url
    fresh_connections()
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    try:
        response = alice_api.post(
            "/api/v1/text/generations", {"prompt": "hi"}, content_type="application/json"
        )
    finally:
        app.conf.broker_url = real_broker
        fresh_connections()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "queue is unreachable" in response.json()["detail"]
    job = Job.objects.get()
    assert job.status == "failed" and "could not be reached" in job.error
