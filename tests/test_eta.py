"""ETAs of queued and running jobs, from the queue and the model's recent runs."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from genhub.models import Job, JobStatus, Worker

TOKENS = {"prompt": "hi", "max_new_tokens": 100}


def past_runs(owner, model, seconds):
    """Succeeded jobs of `model` that took `seconds` each, ending an hour ago."""
    end = timezone.now() - timedelta(hours=1)
    for took in seconds:
        Job.objects.create(
            owner=owner,
            modality=model.modality,
            model=model,
            prompt="past",
            params=TOKENS,
            status=JobStatus.SUCCEEDED,
            started_at=end - timedelta(seconds=took),
            finished_at=end,
        )


def queued(owner, model, count, params=TOKENS):
    start = timezone.now() - timedelta(minutes=1)
    return [
        Job.objects.create(
            owner=owner,
            modality=model.modality,
            model=model,
            prompt=f"queued {i}",
            params=params,
            status=JobStatus.QUEUED,
            enqueued_at=start + timedelta(seconds=i),
        )
        for i in range(count)
    ]


def worker(queues="text", node="w1"):
    return Worker.objects.create(
        node=node, hostname="h", pid=1, queues=queues, pool="solo", version="test"
    )


def test_a_queued_job_ends_after_the_jobs_ahead_and_its_own_run(alice_api, alice, bob, tiny_text):
    past_runs(alice, tiny_text, [10, 20, 30])  # 20 s per 100 tokens on average
    worker()
    *_, third = queued(alice, tiny_text, 3)

    job = alice_api.get(f"/api/v1/jobs/{third.id}").json()
    assert job["eta_basis"] == "recent runs"
    assert job["eta_seconds"] == pytest.approx(60, abs=2)  # 2 x 20 ahead + its own 20


def test_a_queued_job_waits_only_for_the_jobs_its_turn_comes_after(
    alice_api, alice, bob, tiny_text
):
    past_runs(alice, tiny_text, [20])  # alice has run a job on this queue; bob has not
    worker()
    queued(bob, tiny_text, 2)
    (hers,) = queued(alice, tiny_text, 1)
    # Fair queues (docs/jobs.md): bob's first job, then hers, not both of his.
    job = alice_api.get(f"/api/v1/jobs/{hers.id}").json()
    assert job["queue_position"] == 2
    assert job["eta_seconds"] == pytest.approx(40, abs=2)


def test_the_wait_is_shared_among_the_queues_live_workers(alice_api, alice, tiny_text):
    past_runs(alice, tiny_text, [20])
    worker(node="w1")
    worker(queues="image,text", node="w2")
    last = queued(alice, tiny_text, 3)[-1]
    job = alice_api.get(f"/api/v1/jobs/{last.id}").json()
    assert job["eta_seconds"] == pytest.approx(40 / 2 + 20, abs=2)


def test_a_running_job_ends_its_expected_duration_after_it_started(alice_api, alice, tiny_text):
    past_runs(alice, tiny_text, [20])
    started = timezone.now() - timedelta(seconds=5)
    running = Job.objects.create(
        owner=alice,
        modality="text",
        model=tiny_text,
        prompt="now",
        params=TOKENS,
        status=JobStatus.RUNNING,
        started_at=started,
    )
    job = alice_api.get(f"/api/v1/jobs/{running.id}").json()
    assert job["eta_seconds"] == pytest.approx(15, abs=2)
    assert job["eta_basis"] == "recent runs"

    # Once it reports progress, its own pace says: half done in 5 s, 5 s to go.
    Job.objects.filter(pk=running.pk).update(progress=0.5)
    job = alice_api.get(f"/api/v1/jobs/{running.id}").json()
    assert job["eta_seconds"] == pytest.approx(5, abs=2)
    assert job["eta_basis"] == "progress"


def test_a_running_job_ahead_counts_with_what_it_has_left(alice_api, alice, tiny_text):
    past_runs(alice, tiny_text, [20])
    worker()
    Job.objects.create(
        owner=alice,
        modality="text",
        model=tiny_text,
        prompt="now",
        params=TOKENS,
        status=JobStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=5),
    )
    (waiting,) = queued(alice, tiny_text, 1)
    job = alice_api.get(f"/api/v1/jobs/{waiting.id}").json()
    assert job["eta_seconds"] == pytest.approx(15 + 20, abs=2)


def test_the_work_of_each_job_scales_its_expected_duration(alice_api, alice, tiny_text):
    past_runs(alice, tiny_text, [20])  # 100 tokens in 20 s
    worker()
    (long,) = queued(alice, tiny_text, 1, params={"prompt": "hi", "max_new_tokens": 400})
    assert alice_api.get(f"/api/v1/jobs/{long.id}").json()["eta_seconds"] == pytest.approx(
        80, abs=2
    )


def test_no_recent_runs_means_no_estimate(alice_api, alice, tiny_text):
    worker()
    (job,) = queued(alice, tiny_text, 1)
    body = alice_api.get(f"/api/v1/jobs/{job.id}").json()
    assert body["eta"] is None
    assert body["eta_seconds"] is None
    assert body["eta_basis"] == "no recent runs"


def test_finished_jobs_have_no_eta(alice_api, alice, tiny_text):
    past_runs(alice, tiny_text, [20])
    done = Job.objects.get()
    body = alice_api.get(f"/api/v1/jobs/{done.id}").json()
    assert (body["eta"], body["eta_seconds"], body["eta_basis"]) == (None, None, None)


@pytest.mark.parametrize("count", [5, 50])
def test_a_page_of_jobs_takes_the_same_few_queries(
    count, alice_api, alice, bob, tiny_text, django_assert_max_num_queries
):
    past_runs(alice, tiny_text, [10, 20, 30])
    worker()
    queued(bob, tiny_text, 10)  # someone else's jobs ahead, not on alice's page
    queued(alice, tiny_text, count)
    # The same for 5 jobs as for 50: of these, five are the ETAs' (the queues'
    # active jobs, their owners' standings and priorities for the fair order,
    # and the recent runs of their models).
    with django_assert_max_num_queries(13):
        items = alice_api.get("/api/v1/jobs?page_size=100&status=queued").json()["items"]
    assert len(items) == count
    assert all(item["eta_basis"] == "recent runs" for item in items)


def test_the_pages_say_when_a_job_should_start_or_end(alice, tiny_text):
    past_runs(alice, tiny_text, [120])
    worker()
    running = Job.objects.create(
        owner=alice,
        modality="text",
        model=tiny_text,
        prompt="now",
        params=TOKENS,
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
    )
    (waiting,) = queued(alice, tiny_text, 1)
    browser = Client()
    browser.force_login(alice)
    # The words of genhub/eta_words.py; "a guess": only the model's past runs say so.
    guess = " (a guess from the model&#x27;s recent run times)"
    assert f"About 2 min left{guess}" in browser.get(f"/jobs/{running.id}/").content.decode()
    starts = f"Next in line · starts in about 2 min{guess}"
    assert starts in browser.get(f"/jobs/{waiting.id}/").content.decode()
    assert starts in browser.get("/text/").content.decode()


def test_the_websocket_snapshot_carries_the_eta(transactional_db, alice, tiny_text):
    from tests.test_websocket_security import HOST, OWN_ORIGIN, Socket, run

    past_runs(alice, tiny_text, [20])
    running = Job.objects.create(
        owner=alice,
        modality="text",
        model=tiny_text,
        prompt="now",
        params=TOKENS,
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
    )
    browser = Client()
    browser.force_login(alice)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"

    async def snapshot() -> dict:
        socket = Socket(f"/ws/jobs/{running.id}/", host=HOST, origin=OWN_ORIGIN, cookie=cookie)
        assert (await socket.connect())[0]
        first = await socket.receive_json()
        await socket.disconnect()
        return first

    first = run(snapshot())
    assert first["type"] == "snapshot"
    assert first["eta_basis"] == "recent runs"
    assert first["eta_seconds"] == pytest.approx(20, abs=2)
    assert first["eta"].startswith(str(timezone.now().year))
