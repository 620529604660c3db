"""The admin pages for models, jobs and keys render and do their actions."""

import pytest
from django.test import Client

from genhub.jobs import submit_job
from genhub.models import ApiKey, Job


@pytest.fixture
def admin_client(django_user_model):
    user = django_user_model.objects.create_superuser("root", password="root-pass-123")
    client = Client()
    client.force_login(user)
    return client


def test_changelists_filter_and_search(admin_client, alice, tiny_text):
    submit_job(alice, "text", None, {"prompt": "a lighthouse at dusk"})
    for url in [
        "/admin/genhub/aimodel/?modality=text&enabled__exact=1",
        "/admin/genhub/job/?status__exact=queued&q=lighthouse",
        "/admin/genhub/apikey/",
        f"/admin/genhub/aimodel/{tiny_text.pk}/change/",
        f"/admin/genhub/job/{Job.objects.get().pk}/change/",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert b"a lighthouse at dusk" in admin_client.get("/admin/genhub/job/?q=lighthouse").content


def test_cancel_action_cancels_queued_jobs(admin_client, alice, tiny_text):
    job = submit_job(alice, "text", None, {"prompt": "hi"})
    admin_client.post(
        "/admin/genhub/job/", {"action": "cancel_jobs", "_selected_action": [str(job.pk)]}
    )
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_adding_a_key_shows_it_once_and_stores_a_hash(admin_client, alice):
    response = admin_client.post(
        "/admin/genhub/apikey/add/", {"user": alice.pk, "name": "laptop"}, follow=True
    )
    assert response.status_code == 200
    key = ApiKey.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(f"gh_{key.prefix}_" in m for m in shown)
    assert key.name == "laptop" and key.user == alice


def test_a_jobs_page_shows_its_files(admin_client, alice, tiny_image):
    from genhub import artifacts

    job = submit_job(alice, "image", None, {"prompt": "a fox"})
    artifact = artifacts.save_output(
        job, 0, b"png", mime_type="image/png", extension="png", thumbnail=b"jpg", seed=3
    )
    page = admin_client.get(f"/admin/genhub/job/{job.pk}/change/").content.decode()
    assert f"/api/v1/artifacts/{artifact.pk}/thumbnail" in page
    assert admin_client.get(f"/api/v1/artifacts/{artifact.pk}/file").status_code == 200
