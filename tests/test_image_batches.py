"""Queued image jobs that can share a pipeline call run as one batch, each with
its own images, seeds, events and outcome (genhub/worker/batches.py)."""

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from django.utils import timezone
from PIL import Image

from genhub.jobs import claim_job
from genhub.models import AIModel, Job
from genhub.worker import batches
from tests.stack import read_events, read_until

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def worker_busy(client) -> Iterator[None]:
    """Hold the image worker with a long job (a size nothing else asks for)
    while the block runs, then cancel it: the jobs queued meanwhile start together."""
    blocker = client.generate_image(prompt="busy", width=256, height=256, steps=150, seed=1)
    with client.events(blocker["id"]) as socket:
        read_until(socket, "step")
        yield
        client.http.post(f"/jobs/{blocker['id']}/cancel")
        read_events(socket)


def fetch(client, url):
    response = client.http.get(url)
    assert response.status_code == 200, response.text
    return response.content


def pixels(client, artifact):
    return Image.open(io.BytesIO(fetch(client, artifact["url"]))).convert("RGB").tobytes()


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_compatible_jobs_run_in_one_call_each_with_its_own_images_seeds_and_events(
    alice_client, bob_client, image_worker
):
    asks = [
        (alice_client, {"prompt": "a red fox", "seed": 5}),
        (bob_client, {"prompt": "a blue boat", "seed": 40, "num_images": 2}),
        (alice_client, {"prompt": "a green hill", "seed": 77, "negative_prompt": "fog"}),
    ]
    with worker_busy(alice_client):
        jobs = [
            (client, client.generate_image(width=64, height=64, steps=6, **ask))
            for client, ask in asks
        ]
        # A fourth would make five images, over the default max_batch of 4.
        extra = alice_client.generate_image(prompt="late", width=64, height=64, steps=6, seed=9)
        sockets = [client.events(job["id"]) for client, job in jobs]
        for socket in sockets:
            read_until(socket, "snapshot")
    streams = [read_events(socket) for socket in sockets]
    for socket in sockets:
        socket.close()

    done = [client.wait(job["id"], {"succeeded", "failed"}) for client, job in jobs]
    assert [job["status"] for job in done] == ["succeeded"] * 3, [j["error"] for j in done]
    for job in done:
        assert job["metrics"]["batch_jobs"] == 3 and job["metrics"]["batch_size"] == 4
        assert job["metrics"]["save_seconds"] > 0
    # One call: each started before any of them ended.
    assert max(moment(j["started_at"]) for j in done) < min(moment(j["finished_at"]) for j in done)

    assert [[a["seed"] for a in job["artifacts"]] for job in done] == [[5], [40, 41], [77]]
    records = [job["artifacts"][0]["record"] for job in done]
    assert [r["prompt"] for r in records] == ["a red fox", "a blue boat", "a green hill"]
    assert records[2]["negative_prompt"] == "fog"
    for events in streams:
        steps = [e for e in events if e["type"] == "step"]
        assert [e["step"] for e in steps] == [1, 2, 3, 4, 5, 6]
        assert any("preview" in e for e in steps)
        assert events[-1]["type"] == "succeeded"
    assert {e["job"] for events in streams for e in events} == {job["id"] for _, job in jobs}

    late = alice_client.wait(extra["id"], {"succeeded", "failed"})
    assert late["status"] == "succeeded"
    assert late["metrics"].get("batch_jobs") is None  # alone: nothing was queued with it
    assert moment(late["started_at"]) >= max(moment(j["finished_at"]) for j in done)


def test_a_batched_image_is_the_image_its_job_makes_alone(alice_client, image_worker):
    with worker_busy(alice_client):
        batched = [
            alice_client.generate_image(prompt=prompt, width=64, height=64, steps=4, seed=seed)
            for prompt, seed in (("a castle", 3), ("a lighthouse", 31))
        ]
    batched = [alice_client.wait(job["id"], {"succeeded"}) for job in batched]
    assert batched[1]["metrics"]["batch_jobs"] == 2
    alone = alice_client.generate_image(
        prompt="a lighthouse", width=64, height=64, steps=4, seed=31
    )
    alone = alice_client.wait(alone["id"], {"succeeded"})
    assert "batch_jobs" not in alone["metrics"]
    together = pixels(alice_client, batched[1]["artifacts"][0])
    single = pixels(alice_client, alone["artifacts"][0])
    # Same noise and prompt; a batch may round differently in the last bit.
    assert max(abs(a - b) for a, b in zip(together, single, strict=True)) <= 1


def test_a_job_of_another_size_is_not_batched(alice_client, image_worker):
    with worker_busy(alice_client):
        same = [
            alice_client.generate_image(prompt="a fox", width=64, height=64, steps=3, seed=s)
            for s in (1, 2)
        ]
        other = alice_client.generate_image(prompt="a fox", width=64, height=48, steps=3, seed=3)
    same = [alice_client.wait(job["id"], {"succeeded"}) for job in same]
    other = alice_client.wait(other["id"], {"succeeded"})
    assert [job["metrics"]["batch_jobs"] for job in same] == [2, 2]
    assert "batch_jobs" not in other["metrics"]
    assert other["artifacts"][0]["height"] == 48


def test_cancelling_one_job_of_a_batch_leaves_the_others_running(alice_client, image_worker):
    with worker_busy(alice_client):
        jobs = [
            alice_client.generate_image(prompt=p, width=64, height=64, steps=100, seed=s)
            for p, s in (("one", 1), ("two", 2), ("three", 3))
        ]
        socket = alice_client.events(jobs[1]["id"])
        read_until(socket, "snapshot")
    with socket:
        seen = read_until(socket, "step")  # it runs, in the batch
        assert alice_client.http.post(f"/jobs/{jobs[1]['id']}/cancel").status_code == 202
        seen += read_events(socket, timeout=20)
    assert seen[-1]["type"] == "cancelled"
    cancelled = alice_client.job(jobs[1]["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["artifacts"] == [] and cancelled["result"] is None
    for job in (jobs[0], jobs[2]):
        done = alice_client.wait(job["id"], {"succeeded", "failed", "cancelled"}, timeout=120)
        assert done["status"] == "succeeded", done["error"]
        assert done["metrics"]["batch_jobs"] == 3
        assert len(done["artifacts"]) == 1
    # It left within a step or so, long before its batch mates finished.
    assert moment(cancelled["finished_at"]) < moment(alice_client.job(jobs[0]["id"])["finished_at"])


def test_max_batch_1_turns_batching_off(alice_client, image_worker, tiny_image):
    tiny_image.options = {**tiny_image.options, "max_batch": 1}
    tiny_image.save()
    with worker_busy(alice_client):
        jobs = [
            alice_client.generate_image(prompt="a fox", width=64, height=64, steps=3, seed=s)
            for s in (1, 2, 3)
        ]
    done = [alice_client.wait(job["id"], {"succeeded"}) for job in jobs]
    assert all("batch_jobs" not in job["metrics"] for job in done)
    for earlier, later in zip(done, done[1:], strict=False):
        assert moment(later["started_at"]) >= moment(earlier["finished_at"])


def test_max_batch_must_be_a_whole_number_from_1(tiny_image):
    tiny_image.options = {**tiny_image.options, "max_batch": 0}
    assert "max_batch" in tiny_image.config_problems()["options"]
    tiny_image.options = {**tiny_image.options, "max_batch": "4"}
    assert "max_batch" in tiny_image.config_problems()["options"]
    tiny_image.options = {**tiny_image.options, "max_batch": 8}
    assert tiny_image.config_problems() == {}


def test_batch_wait_ms_must_be_whole_milliseconds_up_to_the_limit(tiny_image):
    for wrong in (-1, 2001, 1.5, "50"):
        tiny_image.options = {**tiny_image.options, "batch_wait_ms": wrong}
        assert "batch_wait_ms" in tiny_image.config_problems()["options"], wrong
    tiny_image.options = {**tiny_image.options, "batch_wait_ms": 100}
    assert tiny_image.config_problems() == {}


def queued_image(owner, model, seed):
    return Job.objects.create(
        owner=owner,
        modality="image",
        model=model,
        prompt="a fox",
        params={"prompt": "a fox", "width": 64, "height": 64, "steps": 3, "seed": seed},
        enqueued_at=timezone.now(),
    )


def test_a_batch_waits_for_company_only_after_a_batch(alice, tiny_image, monkeypatch):
    tiny_image.options = {**tiny_image.options, "batch_wait_ms": 600}
    tiny_image.save()
    monkeypatch.setattr(batches, "_last_batch_jobs", {})

    def gather(job):
        claimed = claim_job(str(job.id), "w/1")
        started = time.monotonic()
        followers = batches.gather_followers(claimed, "w/1")
        return followers, time.monotonic() - started

    # The model's last call ran one job (or none yet): no wait.
    followers, seconds = gather(queued_image(alice, tiny_image, 1))
    assert followers == [] and seconds < 0.3
    # After a call of two, a job alone waits the whole 600 ms for company...
    batches._last_batch_jobs[tiny_image.pk] = 2
    followers, seconds = gather(queued_image(alice, tiny_image, 2))
    assert followers == [] and seconds >= 0.6
    # ...and having found none, the next one starts at once again.
    followers, seconds = gather(queued_image(alice, tiny_image, 3))
    assert followers == [] and seconds < 0.3

    # A job that arrives during the wait joins, and the batch goes when full.
    batches._last_batch_jobs[tiny_image.pk] = 2
    first = queued_image(alice, tiny_image, 4)
    late = threading.Timer(0.2, lambda: [queued_image(alice, tiny_image, s) for s in (5, 6, 7)])
    late.start()
    followers, seconds = gather(first)
    late.join()
    assert len(followers) == 3  # max_batch 4: full, so no more waiting
    assert 0.2 <= seconds < 0.6


def test_a_job_posted_while_the_worker_waits_joins_its_batch(
    alice_client, image_worker, tiny_image
):
    tiny_image.options = {**tiny_image.options, "batch_wait_ms": 2000}
    tiny_image.save()
    ask = {"prompt": "a fox", "width": 64, "height": 64, "steps": 3}
    with worker_busy(alice_client):  # two jobs queued behind it run as one call
        pair = [alice_client.generate_image(seed=s, **ask) for s in (1, 2)]
    assert alice_client.wait(pair[0]["id"], {"succeeded"})["metrics"]["batch_jobs"] == 2
    alice_client.wait(pair[1]["id"], {"succeeded"})
    # After a batch, a job alone is claimed and waits; one posted 0.3 s later joins it.
    first = alice_client.generate_image(seed=3, **ask)
    alice_client.wait(first["id"], {"running"})  # claimed, and waiting for company
    time.sleep(0.3)
    second = alice_client.generate_image(seed=4, **ask)
    done = [alice_client.wait(job["id"], {"succeeded", "failed"}) for job in (first, second)]
    assert [job["metrics"].get("batch_jobs") for job in done] == [2, 2], done


def test_a_failing_batch_fails_each_job_with_the_same_sentence(alice_client, image_worker):
    AIModel.objects.create(
        name="broken-image",
        modality="image",
        source_type=AIModel.SourceType.LOCAL,
        source="/nonexistent/broken-image",
    )
    with worker_busy(alice_client):
        jobs = [
            alice_client.generate_image(model="broken-image", prompt=p, steps=3, seed=1)
            for p in ("a", "b", "c")
        ]
    done = [alice_client.wait(job["id"], {"succeeded", "failed"}) for job in jobs]
    assert [job["status"] for job in done] == ["failed"] * 3
    errors = {job["error"] for job in done}
    assert len(errors) == 1
    [error] = errors
    assert "broken-image" in error and "could not be loaded" in error
    assert "/nonexistent" not in error


def test_a_failed_batch_runs_each_job_alone_so_only_the_one_at_fault_fails(
    alice_client, image_worker
):
    with worker_busy(alice_client):
        jobs = [
            alice_client.generate_image(prompt=p, width=64, height=64, steps=4, seed=3)
            for p in ("a pear", "a plum", "a fig")
        ]
        # While it waits, one job's stored prompt stops passing (as when an admin
        # lowers GENHUB_MAX_PROMPT_CHARS): the batch call fails on it.
        bad = Job.objects.get(pk=jobs[1]["id"])
        bad.params = {**bad.params, "prompt": "x" * 2100}
        bad.save(update_fields=["params"])
    done = [alice_client.wait(job["id"], {"succeeded", "failed"}) for job in jobs]
    assert [job["status"] for job in done] == ["succeeded", "failed", "succeeded"]
    assert "prompt" in done[1]["error"] and "no longer accepted" in done[1]["error"]
    for job in (done[0], done[2]):
        assert job["metrics"]["batch_failed"] is True and "batch_jobs" not in job["metrics"]
        assert len(job["artifacts"]) == 1 and job["artifacts"][0]["seed"] == 3
