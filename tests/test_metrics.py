"""Prometheus metrics, read the way Prometheus reads them: the web tier's
/metrics and a real prefork worker's own endpoint (multiprocess mode), before
and after a job of each modality, a quota refusal and jobs left waiting."""

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from genhub import redis_clients
from genhub.models import AIModel, Job, JobStatus, UsagePolicy, Worker
from tests.services import free_port
from tests.stack import Client, WebServer
from tests.stack import Worker as WorkerProcess
from tests.worker_rows import add_worker

pytestmark = pytest.mark.django_db(transaction=True)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, **headers: str) -> Samples:
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@pytest.fixture(scope="module")
def worker_metrics(
    stack_env: dict[str, str], stack_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One prefork worker for the three modalities, its pool process writing to
    a multiprocess directory and its main process serving the sum."""
    port = free_port()
    env = {
        **stack_env,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("worker-metrics")),
        "GENHUB_WORKER_METRICS_PORT": str(port),
        "GENHUB_WORKER_METRICS_ADDRESS": "127.0.0.1",
    }
    worker = WorkerProcess(
        env, stack_logs / "metrics-worker.log", name="metrics", queues="text,image,audio"
    )
    yield f"http://127.0.0.1:{port}/metrics"
    worker.stop()


def run_and_scrape(
    client: Client, worker_url: str, submit: Callable[[], dict[str, Any]], counted_last: str
) -> tuple[dict[str, Any], Samples, Samples, Samples, Samples]:
    """(the finished job, web before, web after, worker before, worker after).
    The worker counts a job's end just after its row says so, and the time spent
    generating last of all: wait for that to move before the final scrape."""
    web_url = f"{client.server.url}/metrics"
    web_before, worker_before = scrape(web_url), scrape(worker_url)
    job = submit()
    done = client.wait(job["id"], {"succeeded", "failed", "cancelled"})
    assert done["status"] == "succeeded", done["error"]
    labels = {"modality": done["modality"], "model": done["model"]}
    deadline = time.monotonic() + 10
    while True:
        worker_after = scrape(worker_url)
        if moved(worker_before, worker_after, counted_last, **labels) > 0:
            break
        assert time.monotonic() < deadline, f"{counted_last} never moved"
        time.sleep(0.1)
    return done, web_before, scrape(web_url), worker_before, worker_after


def assert_job_counted(
    done: dict[str, Any], web: tuple[Samples, Samples], worker: tuple[Samples, Samples]
) -> dict[str, str]:
    """The counts every modality shares, by exactly one job; the labels back."""
    labels = {"modality": done["modality"], "model": done["model"]}
    assert moved(*web, "genhub_jobs_submitted_total", **labels) == 1
    assert moved(*worker, "genhub_jobs_finished_total", **labels, outcome="succeeded") == 1
    assert moved(*worker, "genhub_jobs_finished_total", **labels, outcome="failed") == 0

    assert moved(*worker, "genhub_job_queue_wait_seconds_count", **labels) == 1
    waited = moved(*worker, "genhub_job_queue_wait_seconds_sum", **labels)
    assert waited == pytest.approx(done["metrics"]["queue_seconds"], abs=1e-3)
    every = {**labels, "le": "+Inf"}
    assert moved(*worker, "genhub_job_queue_wait_seconds_bucket", **every) == 1

    run = {**labels, "outcome": "succeeded"}
    assert moved(*worker, "genhub_job_run_seconds_count", **run) == 1
    ran = moved(*worker, "genhub_job_run_seconds_sum", **run)
    assert ran == pytest.approx(seconds_between(done["started_at"], done["finished_at"]), abs=1e-3)
    assert moved(*worker, "genhub_generation_seconds_total", **labels) == pytest.approx(
        done["metrics"]["generate_seconds"], abs=1e-6
    )
    return labels


def test_a_text_job_counts_once_with_its_tokens_and_times(alice_client, worker_metrics):
    def submit() -> dict[str, Any]:
        return alice_client.generate_text(prompt="Hello there", max_new_tokens=12, seed=3)

    done, *web_before_after_worker = run_and_scrape(
        alice_client, worker_metrics, submit, "genhub_generation_seconds_total"
    )
    web, worker = tuple(web_before_after_worker[:2]), tuple(web_before_after_worker[2:])
    assert_job_counted(done, web, worker)
    usage = done["result"]["usage"]
    assert usage["completion_tokens"] > 0
    model = done["model"]
    assert (
        moved(*worker, "genhub_generated_tokens_total", model=model) == usage["completion_tokens"]
    )
    assert moved(*worker, "genhub_prompt_tokens_total", model=model) == usage["prompt_tokens"]
    # Units of other modalities stay where they were.
    assert moved(*worker, "genhub_denoising_steps_total", model=model) == 0


def test_an_image_job_counts_its_denoising_steps_and_images(alice_client, worker_metrics):
    def submit() -> dict[str, Any]:
        return alice_client.generate_image(prompt="a fox", steps=5, seed=2, num_images=2)

    done, *rest = run_and_scrape(
        alice_client, worker_metrics, submit, "genhub_generation_seconds_total"
    )
    web, worker = tuple(rest[:2]), tuple(rest[2:])
    assert_job_counted(done, web, worker)
    model = done["model"]
    assert moved(*worker, "genhub_denoising_steps_total", model=model) == 5
    assert moved(*worker, "genhub_images_generated_total", model=model) == 2
    assert moved(*worker, "genhub_generated_tokens_total", model=model) == 0


def test_an_audio_job_counts_its_seconds_of_audio(alice_client, worker_metrics):
    def submit() -> dict[str, Any]:
        return alice_client.generate_audio(prompt="a drum beat", duration=1.5, seed=5)

    done, *rest = run_and_scrape(
        alice_client, worker_metrics, submit, "genhub_generation_seconds_total"
    )
    web, worker = tuple(rest[:2]), tuple(rest[2:])
    assert_job_counted(done, web, worker)
    [clip] = done["result"]["clips"]
    assert clip["duration_seconds"] == pytest.approx(1.5, abs=0.05)
    assert moved(
        *worker, "genhub_audio_generated_seconds_total", model=done["model"]
    ) == pytest.approx(clip["duration_seconds"])


def test_a_quota_refusal_is_counted_by_its_limit_and_modality(alice, alice_client, worker_metrics):
    UsagePolicy.objects.create(user=alice, requests_per_minute=1)
    url = f"{alice_client.server.url}/metrics"
    before = scrape(url)
    first = alice_client.http.post("/text/generations", json={"prompt": "hi", "max_new_tokens": 2})
    assert first.status_code == 202, first.text
    refused = alice_client.http.post("/text/generations", json={"prompt": "hi again"})
    assert refused.status_code == 429, refused.text
    after = scrape(url)
    refusals = {"limit": "requests_per_minute", "modality": "text"}
    assert moved(before, after, "genhub_quota_rejections_total", **refusals) == 1
    assert (
        moved(before, after, "genhub_jobs_submitted_total", modality="text", model="tiny-text") == 1
    )
    alice_client.wait(first.json()["id"], {"succeeded"})


@pytest.fixture
def idle_queue(tiny_text: AIModel) -> Iterator[AIModel]:
    """A text model whose queue a worker row says it serves, and nothing consumes."""
    model = AIModel.objects.create(
        name="metrics-idle",
        modality="text",
        source_type=tiny_text.source_type,
        source=tiny_text.source,
        queue="metrics-idle",
    )
    add_worker("metrics-idle", node="idle@host")
    yield model
    redis_clients.client().delete("metrics-idle")


def test_queue_depth_waiting_jobs_and_workers_are_read_at_scrape_time(
    live: WebServer, alice_client, idle_queue
):
    url = f"{live.url}/metrics"
    for _ in range(3):
        alice_client.generate_text(prompt="wait", model="metrics-idle")
    samples = scrape(url)

    assert value(samples, "genhub_queue_length", queue="metrics-idle") == 3
    assert value(samples, "genhub_jobs", queue="metrics-idle", status="queued") == 3
    assert value(samples, "genhub_queue_oldest_job_age_seconds", queue="metrics-idle") > 0
    assert value(samples, "genhub_workers", queue="metrics-idle", state="idle") == 1
    row = Worker.objects.get(node="idle@host")
    ident = {"node": "idle@host", "pid": str(row.pid)}
    memory = {**ident, "device": row.device}
    assert value(samples, "genhub_worker_device_memory_total_bytes", **memory) == row.memory_total
    assert value(samples, "genhub_worker_device_memory_free_bytes", **memory) == row.memory_free
    [loaded] = row.loaded_models
    assert (
        value(samples, "genhub_worker_loaded_model_bytes", **ident, model=loaded["name"])
        == loaded["bytes"]
    )
    assert value(samples, "genhub_state_source_up", source="database") == 1
    assert value(samples, "genhub_state_source_up", source="redis") == 1

    # A cancelled job leaves the waiting count, and is counted as an end by the
    # web process that cancelled it.
    job = Job.objects.filter(model=idle_queue, status=JobStatus.QUEUED).first()
    assert job is not None
    cancelled = alice_client.http.post(f"/jobs/{job.pk}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    after = scrape(url)
    assert value(after, "genhub_jobs", queue="metrics-idle", status="queued") == 2
    ended = {"modality": "text", "model": "metrics-idle", "outcome": "cancelled"}
    assert moved(samples, after, "genhub_jobs_finished_total", **ended) == 1
    # It never ran, so no run time is observed.
    assert moved(samples, after, "genhub_job_run_seconds_count", **ended) == 0


def test_web_requests_are_counted_by_django_prometheus(live: WebServer):
    url = f"{live.url}/metrics"
    name = "django_http_responses_total_by_status_view_method_total"
    before = scrape(url)
    assert httpx.get(f"{live.url}/api/v1/models", timeout=10).status_code == 401
    after = scrape(url)
    assert (
        sum(
            after[key] - before.get(key, 0.0)
            for key in after
            if key[0] == name and ("status", "401") in key[1]
        )
        == 1
    )
    # Probes and scrapes are served above the request metrics and not counted.
    assert not any("/metrics" in str(key[1]) for key in after)
