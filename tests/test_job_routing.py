"""A job is accepted only while a live worker serves its model's queue (unless
GENHUB_ACCEPT_WITHOUT_WORKERS), and a queued job says why it waits."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from genhub.jobs import submit_job
from genhub.models import AIModel, Job, Worker
from tests.worker_rows import add_worker

TEXT = "/api/v1/text/generations"


def post_text(client, **body):
    return client.post(TEXT, {"prompt": "hi", **body}, content_type="application/json")


@pytest.fixture
def refusing(settings):
    """As deployed: no live worker for the queue, no job."""
    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = False


def test_with_no_worker_the_job_is_refused_with_503_naming_the_queue(
    alice_api, tiny_text, refusing
):
    response = post_text(alice_api)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["detail"].startswith("No worker is serving the queue 'text' right now")
    assert not Job.objects.exists()


def test_a_live_worker_of_the_queue_lets_the_job_in(alice_api, tiny_text, refusing):
    add_worker("image,text")
    assert post_text(alice_api).status_code == 202


@pytest.mark.parametrize(
    "row",
    [
        {"queues": "image"},  # another queue
        {"queues": "texts,big-text"},  # names that only contain the queue's
        {"queues": "text", "seen_seconds_ago": 60},  # gone quiet
        {"queues": "text", "stopped": True},  # shut down
    ],
    ids=["other-queue", "similar-names", "gone", "stopped"],
)
def test_workers_that_do_not_serve_the_queue_now_do_not_count(alice_api, tiny_text, refusing, row):
    add_worker(**row)
    assert post_text(alice_api).status_code == 503


def test_a_model_on_a_dedicated_queue_needs_workers_of_that_queue(alice_api, tiny_text, refusing):
    tiny_text.queue = "big-llm"
    tiny_text.save()
    add_worker("text")
    response = post_text(alice_api)
    assert response.status_code == 503 and "'big-llm'" in response.json()["detail"]
    add_worker("big-llm", node="big@gpu1")
    assert post_text(alice_api).status_code == 202


def test_bad_input_is_still_named_first(alice_api, tiny_text, refusing):
    assert post_text(alice_api, max_new_tokens=0).status_code == 422


def test_the_setting_queues_jobs_when_no_worker_serves_them(alice_api, tiny_text, settings):
    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = True
    assert not Worker.objects.exists()
    response = post_text(alice_api)
    assert response.status_code == 202 and response.json()["status"] == "queued"


def test_the_page_says_why_beside_the_form(alice, tiny_text, refusing):
    browser = Client()
    browser.force_login(alice)
    response = browser.post("/text/", {"message": "Hi", "max_new_tokens": "5"})
    assert response.status_code == 422
    assert "No worker is serving the queue &#x27;text&#x27; right now" in response.content.decode()
    assert not Job.objects.exists()


# --- why a queued job waits -------------------------------------------------------


def waiting(client, job):
    return client.get(f"/api/v1/jobs/{job.id}").json()["waiting"]


def test_a_queued_job_with_no_worker_says_so(alice_api, alice, tiny_text):
    job = submit_job(alice, "text", None, {"prompt": "hi"})
    assert waiting(alice_api, job) == (
        "#1 in queue 'text'. No worker serves it right now; the job waits until one starts."
    )


def test_a_queued_job_names_what_its_worker_is_busy_with(alice_api, alice, tiny_text):
    musicgen = AIModel.objects.create(
        name="musicgen", modality="audio", source_type="hub", source="facebook/musicgen-small"
    )
    music = Job.objects.create(
        owner=alice, modality="audio", model=musicgen, prompt="drums", params={}, status="running"
    )
    add_worker("text,audio", job=music)
    first = submit_job(alice, "text", None, {"prompt": "one"})
    second = submit_job(alice, "text", None, {"prompt": "two"})
    assert (
        waiting(alice_api, first)
        == "#1 in queue 'text'. 1 worker serves it: busy with an audio job."
    )
    assert waiting(alice_api, second).startswith("#2 in queue 'text'.")

    add_worker("text", node="spare@host")
    add_worker("text", node="dead@host", seen_seconds_ago=600)  # gone: not counted
    assert waiting(alice_api, first) == (
        "#1 in queue 'text'. 2 workers serve it: 1 busy with an audio job, 1 idle."
    )
    # Only queued jobs wait.
    assert alice_api.get(f"/api/v1/jobs/{music.id}").json()["waiting"] is None


def test_a_page_of_jobs_reads_the_workers_once(alice_api, alice, tiny_text):
    add_worker("text")
    for i in range(10):
        submit_job(alice, "text", None, {"prompt": f"job {i}"})
    Job.objects.filter(prompt="job 0").update(status="failed")
    with CaptureQueriesContext(connection) as captured:
        items = alice_api.get("/api/v1/jobs").json()["items"]
    assert sum('"genhub_worker"' in q["sql"] for q in captured.captured_queries) == 1
    notes = [job["waiting"] for job in items if job["status"] == "queued"]
    assert len(notes) == 9 and all("1 worker serves it: idle." in note for note in notes)


def test_the_job_page_and_the_queue_panel_show_the_sentence(alice, tiny_text):
    add_worker("text")
    job = submit_job(alice, "text", None, {"prompt": "hi"})
    browser = Client()
    browser.force_login(alice)
    sentence = "#1 in queue &#x27;text&#x27;. 1 worker serves it: idle."
    assert sentence in browser.get(f"/jobs/{job.id}/").content.decode()
    assert sentence in browser.get("/text/").content.decode()
