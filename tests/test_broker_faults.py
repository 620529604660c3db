"""Redis faults, with a private redis-server that keeps nothing on disk: restarted
empty (its queue lost), every queued job runs, once, without waiting for the
resend timer; stopped, new jobs get 503 with Retry-After, reads still work,
open sockets hear that their stream was interrupted, and everything recovers
with no restart of the web server or the worker."""

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.test import Client as DjangoClient
from django.utils import timezone
from websockets.exceptions import InvalidStatus

from genhub.api.consumers import CLOSE_INTERRUPTED
from genhub.models import ApiKey, Job
from tests.services import RedisServer
from tests.stack import Client, WebServer, Worker, read_events, read_until_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TINY = {"max_new_tokens": 4}


class FaultStack:
    """A web server and workers on their own Redis, which the test may restart."""

    def __init__(self, env: dict[str, str], logs: Any, owner: Any) -> None:
        self.redis = RedisServer()
        self.env = {
            **env,
            "REDIS_URL": self.redis.url,
            # Jobs are queued while no worker runs.
            "GENHUB_ACCEPT_WITHOUT_WORKERS": "true",
        }
        self.logs = logs
        self.workers: list[Worker] = []
        self.web = WebServer(self.env, logs / "faults-web.log")
        _, key = ApiKey.issue(owner)
        self.client = Client(self.web, key)

    def start_worker(self, name: str) -> Worker:
        worker = Worker(self.env, self.logs / f"{name}.log", name=name)
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.web.stop()
        self.redis.close()


@pytest.fixture
def faults(
    stack_env: dict[str, str], stack_logs: Any, alice: Any, tiny_text: Any
) -> Iterator[FaultStack]:
    stack = FaultStack(stack_env, stack_logs, alice)
    yield stack
    stack.close()


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout} s")
        time.sleep(0.1)


def assert_each_ran_once(client: Client, jobs: list[dict[str, Any]], since: Any) -> None:
    finals = [client.wait(job["id"], {"succeeded", "failed", "cancelled"}, 120) for job in jobs]
    assert [f["status"] for f in finals] == ["succeeded"] * len(jobs), finals
    # Each claim counts an attempt: 1 means no job was claimed, so run, twice.
    assert [f["attempts"] for f in finals] == [1] * len(jobs)
    first = min(
        Job.objects.filter(pk__in=[j["id"] for j in jobs]).values_list("started_at", flat=True)
    )
    assert first - since < timedelta(seconds=60), "the lost jobs were not sent again in time"


def test_jobs_queued_before_redis_lost_its_data_run_once_when_a_worker_starts(faults):
    jobs = [faults.client.generate_text(prompt=f"job {n}", seed=n, **TINY) for n in range(20)]
    assert all(job["status"] == "queued" for job in jobs)

    faults.redis.restart()  # empty: the 20 messages are gone, the rows still say queued
    assert faults.redis.answers()
    worker = faults.start_worker("after-restart")
    ready = timezone.now()  # Redis answered before this; nothing could resend sooner

    assert_each_ran_once(faults.client, jobs, since=ready)
    # Sent again because the marker was gone, not by the 15-minute resend timer.
    assert "Redis lost its queue; sent 20 queued job(s) again" in worker.log.read_text()


def test_jobs_queued_when_redis_restarts_under_a_running_worker_run_once(faults):
    faults.start_worker("across-restart")
    blocker = faults.client.generate_text(prompt="hold the worker", max_new_tokens=4096)
    with faults.client.events(blocker["id"]) as socket:
        read_until_token(socket)  # the worker is busy: the next jobs wait in Redis
        jobs = [faults.client.generate_text(prompt=f"job {n}", seed=n, **TINY) for n in range(20)]
        faults.redis.restart()
        back = timezone.now()
        # The restarted Redis numbers the blocker's events from 1 again: its open
        # socket would drop them all as seen, so it is told to start over.
        events = read_events(socket, timeout=30)
    assert events[-1]["type"] == "interrupted", events[-3:]
    # Free the worker: the cancel reaches it through the database's flag as well.
    assert faults.client.http.post(f"/jobs/{blocker['id']}/cancel").status_code == 202

    assert_each_ran_once(faults.client, jobs, since=back)
    stopped = faults.client.wait(blocker["id"], {"succeeded", "failed", "cancelled"}, 60)
    assert stopped["status"] == "cancelled" and stopped["attempts"] == 1


def test_with_redis_down_jobs_get_503_reads_still_work_and_all_recovers(faults, alice):
    client = faults.client
    faults.start_worker("outage")
    before = client.generate_text(prompt="before", **TINY)
    assert client.wait(before["id"], {"succeeded", "failed"}, 90)["status"] == "succeeded"

    # An open socket is told that its stream was interrupted, and closed.
    across = client.generate_text(prompt="across the outage", max_new_tokens=1500)
    with client.events(across["id"]) as socket:
        read_until_token(socket)
        faults.redis.stop()
        events = read_events(socket, timeout=30)
        assert events[-1]["type"] == "interrupted", events[-3:]
        assert "interrupted" in events[-1]["detail"]
        assert socket.close_code == CLOSE_INTERRUPTED

    # A new job: 503 with Retry-After and a sentence, within seconds.
    asked = time.monotonic()
    refused = client.http.post("/text/generations", json={"prompt": "during", **TINY})
    assert time.monotonic() - asked < 5
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert "queue" in refused.json()["detail"]
    # Nothing submitted is lost: the job is recorded as failed, with the reason.
    failed = client.http.get("/jobs", params={"status": "failed"}).json()["items"]
    assert len(failed) == 1 and "could not be reached" in failed[0]["error"]

    # Reads come from the database.
    listed = client.http.get("/jobs")
    assert listed.status_code == 200 and listed.json()["count"] == 3
    assert client.job(before["id"])["status"] == "succeeded"
    browser = DjangoClient()
    browser.force_login(alice)
    cookies = {"sessionid": browser.cookies["sessionid"].value}
    page = httpx.get(f"{faults.web.url}/jobs/{before['id']}/", cookies=cookies, timeout=10)
    assert page.status_code == 200 and "before" in page.text
    # A new socket is refused at once rather than left hanging.
    with pytest.raises(InvalidStatus):
        client.events(before["id"]).close()

    faults.redis.start()  # empty, as after a restart without persistence
    # The socket reconnects and resumes from a snapshot.
    with client.events(across["id"]) as socket:
        resumed = read_events(socket, timeout=120)
    assert resumed[0]["type"] == "snapshot"
    assert resumed[-1]["status"] == "succeeded"
    assert client.job(across["id"])["attempts"] == 1

    # The next job is accepted and runs: neither the web server nor the worker restarted.
    after = client.generate_text(prompt="after", **TINY)
    assert client.wait(after["id"], {"succeeded", "failed"}, 90)["status"] == "succeeded"
