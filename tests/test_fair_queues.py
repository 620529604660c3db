"""Fair queues: one user's many jobs never hold another user's job behind all
of them; a higher priority goes first; and the places and ETAs shown follow the
order the workers take (docs/jobs.md, "Fair queues")."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from genhub import fairness
from genhub.fairness import NEVER, Standing, Waiting, in_turn
from genhub.jobs import claim_job, recover_stale_jobs
from genhub.models import Job, JobStatus, UsagePolicy, Worker

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def waiting(owner, count, offset=0, *, attempts=0):
    return [
        Waiting(f"{owner}{offset + i + 1}", owner, T0 + timedelta(seconds=offset + i), attempts)
        for i in range(count)
    ]


def ids(order):
    return [job.id for job in order]


# --- the order, as a pure function ----------------------------------------------


def test_users_take_turns():
    order = in_turn(waiting("a", 4) + waiting("b", 2, offset=10), {})
    assert ids(order) == ["a1", "b11", "a2", "b12", "a3", "a4"]


def test_a_user_who_never_started_goes_before_one_who_did():
    recent = Standing(last_start=T0.timestamp())
    order = in_turn(waiting("a", 3) + waiting("b", 1, offset=10), {"a": recent})
    assert ids(order) == ["b11", "a1", "a2", "a3"]


def test_the_user_whose_last_start_is_oldest_goes_first():
    standings = {"a": Standing(last_start=200.0), "b": Standing(last_start=100.0)}
    order = in_turn(waiting("a", 2) + waiting("b", 2, offset=10), standings)
    assert ids(order) == ["b11", "a1", "b12", "a2"]


def test_fewer_running_jobs_go_first():
    # a has two jobs running; b, one, and a later start: b still goes first.
    standings = {
        "a": Standing(running=2, last_start=100.0),
        "b": Standing(running=1, last_start=200.0),
    }
    order = in_turn(waiting("a", 3) + waiting("b", 3, offset=10), standings)
    assert ids(order) == ["b11", "a1", "b12", "a2", "b13", "a3"]


def test_a_higher_priority_goes_before_every_lower_one():
    standings = {"b": Standing(priority=5, running=3, last_start=300.0)}
    order = in_turn(waiting("a", 2) + waiting("b", 2, offset=10) + waiting("c", 1, 20), standings)
    assert ids(order) == ["b11", "b12", "a1", "c21", "a2"]


def test_a_requeued_job_goes_first_within_its_priority():
    requeued = waiting("a", 1, offset=30, attempts=1)
    standings = {"a": Standing(last_start=900.0), "c": Standing(priority=1)}
    order = in_turn(
        waiting("a", 2) + requeued + waiting("b", 1, 10) + waiting("c", 1, 20), standings
    )
    # c's priority still wins; then a's job that lost its worker, then turns.
    assert ids(order) == ["c21", "a31", "b11", "a1", "a2"]


def test_a_users_own_jobs_run_in_submission_order():
    jobs = waiting("a", 5)
    assert ids(in_turn(reversed(jobs), {"a": Standing(last_start=NEVER)})) == ids(jobs)


# --- the claim, the places and the ETAs, on the database ------------------------


def add_jobs(owner, model, count, *, status=JobStatus.QUEUED, params=None):
    created = []
    for i in range(count):
        created.append(
            Job.objects.create(
                owner=owner,
                modality=model.modality,
                model=model,
                prompt=f"{owner.username} {i}",
                params=params or {"prompt": "hi", "max_new_tokens": 100},
                status=status,
                enqueued_at=timezone.now(),
            )
        )
    return created


def test_the_next_claim_takes_the_other_users_job(alice, bob, tiny_text):
    alices = add_jobs(alice, tiny_text, 20)
    (bobs,) = add_jobs(bob, tiny_text, 1)
    # Each message names a job of the queue; whichever it names, the turn decides.
    first = claim_job(str(alices[7].id), "w/1")
    second = claim_job(str(alices[8].id), "w/1")
    third = claim_job(str(bobs.id), "w/1")
    assert (first.id, second.id, third.id) == (alices[0].id, bobs.id, alices[1].id)
    assert second.attempts == 1 and second.worker == "w/1"


def test_with_one_user_waiting_the_claim_reads_no_standings(
    alice, bob, tiny_text, django_assert_num_queries
):
    # Turns decide between users only: one user's next job needs no standings.
    alices = add_jobs(alice, tiny_text, 3)
    with django_assert_num_queries(1):
        assert fairness.next_job(tiny_text.job_queue) == alices[0].id
    (bobs,) = add_jobs(bob, tiny_text, 1)
    Job.objects.filter(pk=alices[0].pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    with django_assert_num_queries(4):  # each user's next job, the standings, priorities
        assert fairness.next_job(tiny_text.job_queue) == bobs.id


def test_standings_and_quotas_read_no_users_whole_history(alice, bob, tiny_text, settings):
    # A busy API client's history runs to tens of thousands of jobs; every claim,
    # submission and queue order reads their standing, and every job's start its
    # model's recent runs. Each statement must go through an index to the few rows
    # it needs (docs/benchmarks.md, "A long history").
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from genhub import eta, quotas

    settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE = 100
    settings.GENHUB_QUOTA_MAX_QUEUED = 100
    history = 2000
    ended = timezone.now() - timedelta(hours=1)
    Job.objects.bulk_create(
        Job(
            owner=alice,
            modality=tiny_text.modality,
            model=tiny_text,
            prompt=f"old {i}",
            params={"prompt": "hi", "max_new_tokens": 10},
            status=JobStatus.SUCCEEDED,
            started_at=ended - timedelta(seconds=i + 1),
            finished_at=ended - timedelta(seconds=i),
        )
        for i in range(history)
    )
    Job.objects.update(created_at=ended - timedelta(hours=1))  # submitted long ago
    add_jobs(alice, tiny_text, 2)
    add_jobs(bob, tiny_text, 2)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE genhub_job")  # as autovacuum would have by now
    with CaptureQueriesContext(connection) as read:
        fairness.standings({tiny_text.job_queue}, {alice.pk, bob.pk})
        eta.expected_seconds(Job.objects.filter(status=JobStatus.QUEUED).first())
        quotas.check_quotas(alice, tiny_text.modality)
    statements = [q["sql"] for q in read.captured_queries if "genhub_job" in q["sql"]]
    assert len(statements) >= 5  # standings, the queued job, recent runs, 2 quotas
    for sql in statements:
        if connection.vendor == "sqlite":
            # SQLite's plan says SCAN for a walk over a whole table. It names no
            # rows read, so a walk along one user's rows shows on PostgreSQL (CI's).
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                plan = [row[-1] for row in cursor.fetchall()]
            walks = [step for step in plan if step.startswith("SCAN") and "genhub_job" in step]
            assert not walks, (sql, plan)
        else:
            # PostgreSQL counts the rows each step read: with scans of whole tables
            # ruled out, none may read more than a fraction of the history.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                (plan,) = cursor.fetchone()
            assert _job_rows_read(plan[0]["Plan"]) <= 40, (sql, plan)


def _job_rows_read(step: dict) -> float:
    """The rows of the job table a PostgreSQL plan read, kept or filtered out."""
    read = 0.0
    if step.get("Relation Name") == "genhub_job":
        kept = step.get("Actual Rows", 0) + step.get("Rows Removed by Filter", 0)
        read += kept * step.get("Actual Loops", 1)
    return read + sum(_job_rows_read(child) for child in step.get("Plans", []))


def test_a_message_with_nothing_left_to_run_does_nothing(alice, tiny_text):
    (job,) = add_jobs(alice, tiny_text, 1)
    assert claim_job(str(job.id), "w/1").id == job.id
    assert claim_job(str(job.id), "w/2") is None  # a duplicate, or a cancelled job's


def test_a_model_with_its_own_queue_is_its_own_turn(alice, bob, tiny_text):
    from genhub.models import AIModel

    big = AIModel.objects.create(
        name="big-text", modality="text", source_type="local", source="/m", queue="big"
    )
    add_jobs(alice, big, 2)
    (bobs,) = add_jobs(bob, tiny_text, 1)
    # A message of queue "text" runs the text job even though big's are older.
    assert claim_job(str(bobs.id), "w/1").id == bobs.id


def test_a_group_priority_goes_first(alice, bob, tiny_text):
    vip = Group.objects.create(name="vip")
    bob.groups.add(vip)
    UsagePolicy.objects.create(group=vip, priority=10)
    alices = add_jobs(alice, tiny_text, 3)
    bobs = add_jobs(bob, tiny_text, 2)
    claimed = [claim_job(str(alices[0].id), "w/1").id for _ in range(5)]
    assert claimed == [bobs[0].id, bobs[1].id, alices[0].id, alices[1].id, alices[2].id]


def test_a_users_own_priority_overrides_their_groups(alice, bob, tiny_text):
    vip = Group.objects.create(name="vip")
    bob.groups.add(vip)
    UsagePolicy.objects.create(group=vip, priority=10)
    UsagePolicy.objects.create(user=bob, priority=-1)
    alices = add_jobs(alice, tiny_text, 2)
    (bobs,) = add_jobs(bob, tiny_text, 1)
    claimed = [claim_job(str(bobs.id), "w/1").id for _ in range(3)]
    assert claimed == [alices[0].id, alices[1].id, bobs.id]


def test_a_job_whose_worker_died_keeps_its_turn(alice, bob, tiny_text):
    alices = add_jobs(alice, tiny_text, 2)
    add_jobs(bob, tiny_text, 1)
    lost = claim_job(str(alices[0].id), "w/1")
    Job.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert recover_stale_jobs() == 1
    again = claim_job(str(alices[1].id), "w/2")
    assert again.id == lost.id and again.attempts == 2


def test_places_and_etas_follow_the_turns(alice_api, bob_api, alice, bob, tiny_text):
    past = timezone.now() - timedelta(hours=1)
    Job.objects.create(
        owner=alice,
        modality="text",
        model=tiny_text,
        prompt="past",
        params={"prompt": "hi", "max_new_tokens": 100},
        status=JobStatus.SUCCEEDED,
        started_at=past - timedelta(seconds=10),
        finished_at=past,
    )
    Worker.objects.create(node="w1", hostname="h", pid=1, queues="text", pool="solo", version="t")
    alices = add_jobs(alice, tiny_text, 20)
    (bobs,) = add_jobs(bob, tiny_text, 1)
    # alice has started a job on this queue before, bob never: bob goes first.
    bob_job = bob_api.get(f"/api/v1/jobs/{bobs.id}").json()
    assert bob_job["queue_position"] == 1
    assert bob_job["eta_seconds"] == pytest.approx(10, abs=2)  # its own run only
    items = alice_api.get("/api/v1/jobs?page_size=100").json()["items"]
    places = {item["id"]: item["queue_position"] for item in items}
    assert [places[str(job.id)] for job in alices] == list(range(2, 22))
    second = next(item for item in items if item["id"] == str(alices[1].id))
    assert second["eta_seconds"] == pytest.approx(30, abs=2)  # bob's, alice's first, its own
    assert fairness.position(Job.objects.get(pk=alices[1].pk)) == 3  # the one-job path agrees
    assert "#3 in queue 'text'" in second["waiting"]


# --- live events ----------------------------------------------------------------


def test_a_running_jobs_events_carry_its_eta(alice, tiny_text, monkeypatch):
    from genhub import events
    from genhub.worker.progress import JobProgress

    sent = []
    monkeypatch.setattr(events, "publish", lambda job, type, **fields: sent.append(fields))
    (job,) = add_jobs(alice, tiny_text, 1, status=JobStatus.RUNNING)
    job.started_at = timezone.now() - timedelta(seconds=4)
    progress = JobProgress(job, expected_seconds=20.0)
    progress.started()
    assert sent[-1]["eta_basis"] == "recent runs"
    assert sent[-1]["eta_seconds"] == pytest.approx(16, abs=1)
    progress.text("hello", 50, 100)  # half done in 4 s: its pace says 4 s more
    assert sent[-1]["eta_basis"] == "progress"
    assert sent[-1]["eta_seconds"] == pytest.approx(4, abs=1)
    assert sent[-1]["eta"].startswith(str(timezone.now().year))


def test_the_websocket_snapshot_of_a_queued_job_has_its_place(
    transactional_db, alice, bob, tiny_text
):
    from django.test import Client

    from tests.test_websocket_security import HOST, OWN_ORIGIN, Socket, run

    add_jobs(alice, tiny_text, 3)
    (bobs,) = add_jobs(bob, tiny_text, 1)
    browser = Client()
    browser.force_login(bob)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"

    async def snapshot() -> dict:
        socket = Socket(f"/ws/jobs/{bobs.id}/", host=HOST, origin=OWN_ORIGIN, cookie=cookie)
        assert (await socket.connect())[0]
        first = await socket.receive_json()
        await socket.disconnect()
        return first

    first = run(snapshot())
    assert (first["type"], first["status"], first["queue_position"]) == ("snapshot", "queued", 2)
    assert first["eta_basis"] == "no recent runs"


# --- with a real worker (one process, so one job at a time) ----------------------

TINY = {"prompt": "Hello", "max_new_tokens": 4, "seed": 1}


def started_order(client, jobs):
    done = [client.wait(job["id"], {"succeeded"}, timeout=180) for job in jobs]
    return [datetime.fromisoformat(job["started_at"]) for job in done]


def test_one_users_twenty_jobs_do_not_hold_another_users_one(
    alice_client, bob_client, start_worker
):
    start_worker("fair")
    alices = [alice_client.generate_text(**TINY) for _ in range(20)]
    bobs = bob_client.generate_text(**TINY)
    alice_starts = sorted(started_order(alice_client, alices))
    (bob_start,) = started_order(bob_client, [bobs])
    assert bob_start < alice_starts[3], (bob_start, alice_starts[:4])  # before her fourth


def test_a_group_with_a_higher_priority_starts_first(alice_client, bob_client, bob, start_worker):
    vip = Group.objects.create(name="vip")
    bob.groups.add(vip)
    UsagePolicy.objects.create(group=vip, priority=10)
    start_worker("priority")
    alices = [alice_client.generate_text(**TINY) for _ in range(5)]
    bobs = [bob_client.generate_text(**TINY) for _ in range(3)]
    alice_starts = sorted(started_order(alice_client, alices))
    bob_starts = started_order(bob_client, bobs)
    # Taking turns would put bob's third after alice's third; priority puts all
    # of bob's before alice's second (her first may already be running).
    assert max(bob_starts) < alice_starts[1]


def test_live_events_of_a_running_job_carry_the_eta(alice_client, start_worker):
    from tests.stack import read_events

    start_worker("eta")
    job = alice_client.generate_text(prompt="Hello", max_new_tokens=200, seed=1)
    with alice_client.events(job["id"]) as socket:
        events = read_events(socket, timeout=120)
    assert "queue_position" in events[0] and "eta_basis" in events[0]
    running = [e for e in events if e["type"] in ("started", "token")]
    assert running and all("eta_basis" in e and "eta_seconds" in e for e in running)
    # Once a tenth is done the job's own pace gives a number.
    paced = [e for e in running if e["eta_basis"] == "progress"]
    assert paced and all(isinstance(e["eta_seconds"], int) for e in paced)
