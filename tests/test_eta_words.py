"""A job's wait in words: the same sentences from the server's filter
(`{{ job|eta_words }}`) and the pages' script (`GenHub.etaWords`, checked
against this table in tests/test_browser_polish.py)."""

import html
from datetime import timedelta

import pytest
from django.template import engines
from django.utils import timezone

from genhub.eta_words import eta_words
from genhub.models import Job, JobStatus, Worker

# (status, place, eta_seconds, start_seconds, basis) -> words
CASES = [
    (
        ("queued", 3, 100, 40, "recent runs"),
        "3rd in line · starts in about 40 s (a guess from the model's recent run times)",
    ),
    (
        ("queued", 1, 30, 0, "recent runs"),
        "Next in line · starting any moment (a guess from the model's recent run times)",
    ),
    (
        ("queued", 2, None, None, "no recent runs"),
        "2nd in line · no estimate yet (no recent runs of this model)",
    ),
    (
        ("queued", 11, None, None, "no worker serves its queue"),
        "11th in line · no worker serves this queue right now",
    ),
    (
        ("queued", 22, 900, 600, "recent runs"),
        "22nd in line · starts in about 10 min (a guess from the model's recent run times)",
    ),
    (("queued", None, None, None, None), "Queued"),
    (("running", None, 120, None, "progress"), "About 2 min left"),
    (("running", None, 43, None, "progress"), "About 45 s left"),
    (("running", None, 7, None, "progress"), "A few seconds left"),
    (("running", None, 0, None, "progress"), "Finishing…"),
    (
        ("running", None, 150, None, "recent runs"),
        "About 3 min left (a guess from the model's recent run times)",
    ),
    (("running", None, 7200, None, "progress"), "About 2 h left"),
    (
        ("running", None, None, None, "no recent runs"),
        "Running · no estimate yet (no recent runs of this model)",
    ),
    (("succeeded", None, None, None, None), ""),
    (("cancelled", None, 10, None, "progress"), ""),
]


@pytest.mark.unit
@pytest.mark.parametrize(("fields", "words"), CASES)
def test_eta_words_say_the_wait_as_a_person_would(fields, words):
    assert eta_words(*fields) == words


def render(job: Job) -> str:
    template = engines["django"].from_string("{% load genhub_eta %}{{ job|eta_words }}")
    return html.unescape(template.render({"job": job}))


@pytest.mark.django_db
def test_the_filter_words_a_queued_job_behind_a_running_one(alice, tiny_text):
    end = timezone.now() - timedelta(hours=1)
    Job.objects.create(
        owner=alice,
        modality="text",
        model=tiny_text,
        prompt="past",
        params={"max_new_tokens": 100},
        status=JobStatus.SUCCEEDED,
        started_at=end - timedelta(seconds=40),
        finished_at=end,
    )
    Worker.objects.create(node="w1", hostname="h", pid=1, queues="text", pool="solo", version="t")
    Job.objects.create(
        owner=alice,
        modality="text",
        model=tiny_text,
        prompt="running",
        params={"max_new_tokens": 100},
        status=JobStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=10),
    )
    waiting = Job.objects.create(
        owner=alice,
        modality="text",
        model=tiny_text,
        prompt="waiting",
        params={"max_new_tokens": 100},
        status=JobStatus.QUEUED,
        enqueued_at=timezone.now(),
    )
    # The running job has about 30 s left; the queued one starts after it.
    assert render(waiting) == (
        "Next in line · starts in about 30 s (a guess from the model's recent run times)"
    )
    running = Job.objects.get(prompt="running")
    assert render(running) == "About 30 s left (a guess from the model's recent run times)"


@pytest.mark.django_db
def test_the_filter_says_nothing_for_an_ended_job(alice, tiny_text):
    job = Job.objects.create(
        owner=alice,
        modality="text",
        model=tiny_text,
        prompt="done",
        params={},
        status=JobStatus.SUCCEEDED,
    )
    assert render(job) == ""


@pytest.mark.django_db
def test_the_eta_tag_carries_the_seconds_the_page_counts_down_from(alice, tiny_text):
    end = timezone.now() - timedelta(hours=1)
    Job.objects.create(
        owner=alice, modality="text", model=tiny_text, prompt="past",
        params={"max_new_tokens": 100}, status=JobStatus.SUCCEEDED,
        started_at=end - timedelta(seconds=90), finished_at=end,
    )  # fmt: skip
    Worker.objects.create(node="w1", hostname="h", pid=1, queues="text", pool="solo", version="t")
    waiting = Job.objects.create(
        owner=alice, modality="text", model=tiny_text, prompt="waiting",
        params={"max_new_tokens": 100}, status=JobStatus.QUEUED, enqueued_at=timezone.now(),
    )  # fmt: skip
    template = engines["django"].from_string("{% load genhub_eta %}{% eta job %}")
    span = html.unescape(template.render({"job": waiting}))
    assert span == (
        '<span class="eta" data-eta data-eta-status="queued" data-eta-place="1" data-eta-in="90"'
        ' data-eta-start-in="0" data-eta-basis="recent runs">'
        "Next in line · starting any moment (a guess from the model's recent run times)</span>"
    )
    waiting.status = JobStatus.SUCCEEDED
    assert template.render({"job": waiting}) == ""
