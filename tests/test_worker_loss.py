"""A worker that dies mid-job: the job is run again once, then failed with a
reason; it is never left `running`. These tests start and kill their own workers."""

import json
import os
import signal

import pytest

from tests.stack import read_events, read_until_token

pytestmark = pytest.mark.django_db(transaction=True)

LONG = {"prompt": "Hello", "max_new_tokens": 4096}


def running_pid(job_id):
    from genhub.models import Job

    return int(Job.objects.get(pk=job_id).worker.rsplit("/", 1)[1])


def test_a_killed_pool_process_gets_its_job_run_again(alice_client, start_worker):
    start_worker("survivor")
    job = alice_client.generate_text(**{**LONG, "max_new_tokens": 1500})
    with alice_client.events(job["id"]) as socket:
        events = read_until_token(socket)
        os.kill(running_pid(job["id"]), signal.SIGKILL)  # as the OOM killer would
        events += read_events(socket, timeout=90)

    types = [e["type"] for e in events]
    assert types[-1] == "succeeded"
    assert "requeued" in types
    final = alice_client.job(job["id"])
    assert final["status"] == "succeeded" and final["attempts"] == 2
    # The text of the dead attempt is dropped; what streamed after it is the result.
    restart = max(i for i, t in enumerate(types) if t == "started")
    streamed = "".join(e["text"] for e in events[restart:] if e["type"] == "token")
    assert streamed == final["result"]["text"]


def test_a_job_that_kills_its_worker_twice_fails_with_a_reason(alice_client, start_worker):
    start_worker("victim")
    job = alice_client.generate_text(**LONG)
    # Queued behind the poison job: it must still run.
    after = alice_client.generate_text(prompt="Hello", max_new_tokens=8)
    with alice_client.events(job["id"]) as socket:
        read_until_token(socket)
        os.kill(running_pid(job["id"]), signal.SIGKILL)
        # The second attempt starts over; kill that one as well.
        while json.loads(socket.recv(timeout=60))["type"] != "started":
            pass
        read_until_token(socket)
        os.kill(running_pid(job["id"]), signal.SIGKILL)
        events = read_events(socket, timeout=60)
    assert events[-1]["type"] == "failed"
    final = alice_client.job(job["id"])
    assert final["status"] == "failed"
    assert "stopped unexpectedly, 2 times" in final["error"]
    # The queue goes on: the job behind it runs, once.
    behind = alice_client.wait(after["id"], {"succeeded", "failed"}, timeout=90)
    assert behind["status"] == "succeeded" and behind["attempts"] == 1


def test_a_job_on_a_machine_that_died_is_taken_over_by_another_worker(alice_client, start_worker):
    doomed = start_worker("doomed")
    job = alice_client.generate_text(**{**LONG, "max_new_tokens": 1000})
    with alice_client.events(job["id"]) as socket:
        read_until_token(socket)
        doomed.kill()  # the whole worker, main process included
    assert alice_client.job(job["id"])["status"] == "running"
    start_worker("rescuer")
    final = alice_client.wait(job["id"], {"succeeded", "failed"}, timeout=90)
    assert final["status"] == "succeeded"
    assert final["attempts"] == 2
    from genhub.models import Job

    assert Job.objects.get(pk=job["id"]).worker.startswith("rescuer@")
