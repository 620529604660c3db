"""Whose jobs and files a person may see: their own, or everyone's with the
genhub.view_all_jobs permission (the Operators group, or a superuser). Staff
status alone opens the admin, not other people's jobs."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client

from genhub import artifacts
from genhub.jobs import submit_job
from genhub.models import ApiKey, Job

pytestmark = pytest.mark.unit


@pytest.fixture
def alice_job(alice, tiny_text):
    job = submit_job(alice, "text", None, {"prompt": "alice's secret"})
    artifacts.save_output(
        job, 0, b"png", mime_type="image/png", extension="png", thumbnail=b"jpg", seed=3
    )
    return job


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def test_plain_staff_see_only_their_own_jobs(staff_api, staff, alice_job):
    assert staff_api.get(f"/api/v1/jobs/{alice_job.id}").status_code == 404
    assert staff_api.get("/api/v1/jobs").json()["count"] == 0
    own = submit_job(staff, "text", None, {"prompt": "mine"})
    assert staff_api.get(f"/api/v1/jobs/{own.id}").status_code == 200
    assert [j["id"] for j in staff_api.get("/api/v1/jobs").json()["items"]] == [str(own.id)]
    assert browser(staff).get(f"/jobs/{alice_job.id}/").status_code == 404


def test_plain_staff_cannot_cancel_someone_elses_job(staff_api, alice_job):
    assert staff_api.post(f"/api/v1/jobs/{alice_job.id}/cancel").status_code == 404
    alice_job.refresh_from_db()
    assert alice_job.status == "queued" and not alice_job.cancel_requested


def test_plain_staff_get_404_for_someone_elses_files(staff_api, alice_job):
    artifact = alice_job.artifacts.get()
    for path in ("", "/file", "/thumbnail"):
        assert staff_api.get(f"/api/v1/artifacts/{artifact.pk}{path}").status_code == 404


def test_operators_see_download_and_cancel_every_job(operator_api, operator, alice_job):
    assert operator_api.get(f"/api/v1/jobs/{alice_job.id}").json()["prompt"] == "alice's secret"
    assert operator_api.get("/api/v1/jobs").json()["count"] == 1
    artifact = alice_job.artifacts.get()
    assert operator_api.get(f"/api/v1/artifacts/{artifact.pk}/file").status_code == 200
    assert browser(operator).get(f"/jobs/{alice_job.id}/").status_code == 200
    response = operator_api.post(f"/api/v1/jobs/{alice_job.id}/cancel")
    assert response.status_code == 202 and response.json()["status"] == "cancelled"


def test_an_operators_own_pages_list_only_their_own_jobs(operator_api, alice_job):
    # The pages poll with mine=true: an operator's Stop button and queue panel
    # must follow the operator's jobs, not everyone's.
    assert operator_api.get("/api/v1/jobs").json()["count"] == 1
    assert operator_api.get("/api/v1/jobs?mine=true").json()["count"] == 0


def test_superusers_see_every_job_without_a_group(django_user_model, alice_job):
    root = django_user_model.objects.create_superuser("root", password="root-pass-123")
    _, key = ApiKey.issue(root)
    client = Client(headers={"Authorization": f"Bearer {key}"})
    assert client.get(f"/api/v1/jobs/{alice_job.id}").status_code == 200


def test_the_operators_group_grants_view_all_jobs(django_user_model, alice_job):
    migration = importlib.import_module("genhub.migrations.0005_operators_group")
    Group.objects.filter(name="Operators").delete()
    migration.create_operators(apps, None)
    carol = django_user_model.objects.create_user("carol", password="carol-pass-123")
    assert not Job.objects.visible_to(carol).exists()
    carol.groups.add(Group.objects.get(name="Operators"))
    carol = django_user_model.objects.get(pk=carol.pk)  # permissions are cached per object
    assert list(Job.objects.visible_to(carol)) == [alice_job]
