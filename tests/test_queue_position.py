"""A queued job's place in its queue (its model's own, or its modality's): 1..n in the order the
workers will take them (fair queues: tests/test_fair_queues.py; here one user's jobs run in the
order they were submitted), computed for a whole page of jobs in a constant number of queries."""

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from genhub import fairness
from genhub.models import Job, JobStatus

START = timezone.now() - timedelta(hours=1)


def add_jobs(owner, model, count, *, status=JobStatus.QUEUED, offset=0):
    """`count` jobs enqueued a second apart, from `offset` seconds after START."""
    return Job.objects.bulk_create(
        Job(
            owner=owner,
            modality=model.modality,
            model=model,
            prompt=f"{model.modality} {offset + i}",
            params={},
            status=status,
            enqueued_at=START + timedelta(seconds=offset + i),
        )
        for i in range(count)
    )


def test_a_page_of_100_queued_jobs_takes_a_few_queries(
    alice_api, alice, tiny_text, django_assert_max_num_queries
):
    add_jobs(alice, tiny_text, 100)
    # Five of them for the fair order and the ETAs (genhub/fairness.py, genhub/eta.py).
    with django_assert_max_num_queries(13):
        response = alice_api.get("/api/v1/jobs?page_size=100")
    items = response.json()["items"]
    assert len(items) == 100
    assert sorted(job["queue_position"] for job in items) == list(range(1, 101))


def test_places_count_only_earlier_queued_jobs_of_the_same_modality(
    alice_api, alice, bob, tiny_text, tiny_image
):
    # Interleaved: text and image queues, another user's jobs ahead, and jobs that
    # already left the queue, none of which hold a place.
    add_jobs(bob, tiny_text, 2, offset=0)
    add_jobs(alice, tiny_image, 3, offset=1)
    add_jobs(alice, tiny_text, 2, status=JobStatus.RUNNING, offset=2)
    add_jobs(alice, tiny_text, 2, status=JobStatus.SUCCEEDED, offset=3)
    add_jobs(alice, tiny_text, 4, offset=10)
    add_jobs(alice, tiny_image, 2, offset=20)

    items = alice_api.get("/api/v1/jobs?page_size=100").json()["items"]
    enqueued = {str(pk): at for pk, at in Job.objects.values_list("pk", "enqueued_at")}
    places: dict[str, list[int | None]] = {"text": [], "image": []}
    for job in sorted(items, key=lambda job: enqueued[job["id"]]):
        places[job["modality"]].append(job["queue_position"])
    assert places["text"] == [None, None, None, None, 3, 4, 5, 6]  # bob's two are ahead
    assert places["image"] == [1, 2, 3, 4, 5]

    # The detail view and a job loaded on its own agree with the list.
    for job in items:
        assert (
            alice_api.get(f"/api/v1/jobs/{job['id']}").json()["queue_position"]
            == (job["queue_position"])
        )
        assert fairness.position(Job.objects.get(pk=job["id"])) == job["queue_position"]


def test_the_generation_page_shows_places_in_a_few_queries(
    alice, tiny_text, django_assert_max_num_queries
):
    add_jobs(alice, tiny_text, 30)
    browser = Client()
    browser.force_login(alice)
    with django_assert_max_num_queries(15):
        page = browser.get("/text/").content.decode()
    places = [int(n) for n in re.findall(r"#(\d+) in queue", page)]
    assert places == list(range(1, 31))


def test_a_model_with_its_own_queue_is_counted_in_that_queue(alice_api, alice, tiny_text):
    from genhub.models import AIModel

    big = AIModel.objects.create(
        name="big-text", modality="text", source_type="local", source="/m", queue="big"
    )
    add_jobs(alice, tiny_text, 3)  # queue "text", enqueued first
    add_jobs(alice, big, 2, offset=10)  # queue "big", behind them in time only
    items = alice_api.get("/api/v1/jobs?page_size=100").json()["items"]
    places = sorted((job["model"], job["queue_position"]) for job in items)
    assert places == [
        ("big-text", 1),
        ("big-text", 2),
        ("tiny-text", 1),
        ("tiny-text", 2),
        ("tiny-text", 3),
    ]
    single = Job.objects.filter(model=big).order_by("enqueued_at").last()
    assert fairness.position(single) == 2  # the one-job path agrees
