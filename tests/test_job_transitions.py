"""The job state machine: one conditional update per move, so racing
processes never both win, and a job never leaves a terminal state."""

from datetime import timedelta

import pytest
from django.utils import timezone

from genhub.jobs import (
    claim_job,
    fail_job,
    recover_stale_jobs,
    still_ours,
    succeed_job,
    transition,
)
from genhub.models import Job


@pytest.fixture
def job(alice, tiny_text):
    from genhub.jobs import submit_job

    return submit_job(alice, "text", None, {"prompt": "hi"})


def test_a_job_is_claimed_once(job):
    first = claim_job(str(job.id), "a/1")
    second = claim_job(str(job.id), "b/2")
    assert first is not None and first.status == "running" and first.attempts == 1
    assert second is None
    assert Job.objects.get(pk=job.pk).worker == "a/1"


def test_moves_outside_the_diagram_are_refused(job):
    with pytest.raises(ValueError):
        transition(job, "succeeded", expect=["queued"])
    with pytest.raises(ValueError):
        transition(job, "running", expect=["succeeded"])


def test_terminal_jobs_stay_terminal(job):
    running = claim_job(str(job.id), "a/1")
    assert succeed_job(running, {"text": "ok"}, {}) is not None
    assert fail_job(running, "late failure") is None
    assert Job.objects.get(pk=job.pk).status == "succeeded"


def test_a_stale_attempt_cannot_overwrite_a_newer_one(job):
    first = claim_job(str(job.id), "a/1")
    Job.objects.filter(pk=job.pk).update(status="queued")  # as the sweeper would
    second = claim_job(str(job.id), "a/1")
    assert second.attempts == 2
    assert succeed_job(first, {"text": "old"}, {}) is None
    assert succeed_job(second, {"text": "new"}, {}) is not None
    assert Job.objects.get(pk=job.pk).result == {"text": "new"}
    assert Job.objects.filter(still_ours(second), pk=job.pk).exists()


def _go_stale(job):
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))


def test_a_job_whose_worker_died_is_requeued_then_failed(job):
    claim_job(str(job.id), "a/1")
    _go_stale(job)
    assert recover_stale_jobs() == 1
    requeued = Job.objects.get(pk=job.pk)
    assert requeued.status == "queued" and requeued.attempts == 1

    claim_job(str(job.id), "b/2")
    _go_stale(job)
    assert recover_stale_jobs() == 1
    failed = Job.objects.get(pk=job.pk)
    assert failed.status == "failed"
    assert "stopped unexpectedly, 2 times" in failed.error
    assert "memory" in failed.error


def test_a_job_with_a_fresh_heartbeat_is_left_alone(job):
    claim_job(str(job.id), "a/1")
    assert recover_stale_jobs() == 0
    assert Job.objects.get(pk=job.pk).status == "running"


def test_a_long_waiting_job_is_sent_again_in_case_the_broker_lost_it(job, settings):
    from genhub import redis_clients
    from genhub.jobs import resend_waiting_jobs

    broker = redis_clients.client()
    broker.delete("text")  # Redis restarted without persistence: the message is gone
    assert resend_waiting_jobs() == 0  # not waiting long enough yet
    Job.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))
    assert resend_waiting_jobs() == 1
    assert broker.llen("text") == 1
    assert job.id.hex in broker.lindex("text", 0).replace("-", "")
    assert resend_waiting_jobs() == 0  # and not again at the next sweep
    broker.delete("text")


def test_a_cancelled_job_whose_worker_died_ends_cancelled_not_rerun(job):
    claim_job(str(job.id), "a/1")
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    _go_stale(job)
    assert recover_stale_jobs() == 1
    ended = Job.objects.get(pk=job.pk)
    assert ended.status == "cancelled" and ended.attempts == 1
