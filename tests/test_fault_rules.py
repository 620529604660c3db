"""The rules behind recovery from broker and database faults, one at a time (the
end-to-end proofs are tests/test_broker_faults.py and tests/test_database_faults.py):
one sweeper resends the queue Redis forgot, a worker retries its final save, and
heartbeats are not judged while the database has just come back."""

from typing import Any

import pytest
from django.db import OperationalError

from genhub import jobs, redis_clients
from genhub.models import JobStatus
from genhub.worker import broker_marker, execution, sweeper

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The job ids sent to the broker, instead of sending them."""
    ids: list[str] = []
    monkeypatch.setattr(jobs, "send_to_queue", lambda job: ids.append(str(job.pk)))
    redis_clients.client().delete(broker_marker.MARKER_KEY)
    yield ids
    redis_clients.client().delete(broker_marker.MARKER_KEY)


def queued(owner: Any, count: int) -> list[str]:
    return [str(jobs.submit_job(owner, "text", None, {"prompt": f"p{n}"}).pk) for n in range(count)]


def test_a_redis_without_the_marker_gets_every_queued_job_once(alice, tiny_text, sent):
    waiting = queued(alice, 3)
    sent.clear()  # only the resend counts here
    assert broker_marker.resend_if_forgotten() == 3
    assert sent == waiting  # oldest first, as they were queued
    # Another sweeper, or the next sweep, finds the marker: nothing more is sent.
    assert broker_marker.resend_if_forgotten() == 0
    assert sent == waiting


def test_a_resend_that_fails_leaves_the_marker_unset_for_the_next_sweep(
    alice, tiny_text, sent, monkeypatch
):
    queued(alice, 2)

    def broker_away(job: Any) -> None:
        raise ConnectionError("Redis went away again")

    monkeypatch.setattr(jobs, "send_to_queue", broker_away)
    with pytest.raises(ConnectionError):
        broker_marker.resend_if_forgotten()
    assert not redis_clients.client().exists(broker_marker.MARKER_KEY)
    # The jobs stay queued, not failed: the next sweep sends them.
    assert set(jobs.Job.objects.values_list("status", flat=True)) == {JobStatus.QUEUED}


def test_an_outcome_is_saved_once_the_database_answers_again(monkeypatch):
    monkeypatch.setattr(execution.time, "sleep", lambda seconds: None)
    answers: list[Any] = [OperationalError("away"), OperationalError("away"), "saved"]

    def save() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert execution._save_outcome(jobs.Job(), save) == "saved"
    assert answers == []


def test_an_outcome_save_gives_up_after_the_retry_window(monkeypatch, settings):
    settings.GENHUB_JOB_SAVE_RETRY_SECONDS = 0
    calls = []

    def save() -> None:
        calls.append(1)
        raise OperationalError("away for good")

    with pytest.raises(OperationalError):
        execution._save_outcome(jobs.Job(), save)
    assert len(calls) == 1


def test_heartbeats_are_judged_again_a_stale_period_after_the_database_returns(
    settings, monkeypatch
):
    settings.GENHUB_JOB_STALE_SECONDS = 30
    now = [1000.0]
    monkeypatch.setattr(sweeper.time, "monotonic", lambda: now[0])
    watch = sweeper.DatabaseWatch()
    assert watch.heartbeats_trustworthy()
    watch.lost()
    assert not watch.heartbeats_trustworthy()  # it answers again: the grace starts
    now[0] += 29
    assert not watch.heartbeats_trustworthy()
    now[0] += 1
    assert watch.heartbeats_trustworthy()
