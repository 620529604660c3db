"""Text through an external OpenAI-compatible engine: a real `transformers serve
--continuous-batching` on CPU, a real thread-pool worker on queue `engine`, the
REST API and the WebSocket."""

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from genhub.models import AIModel, Job
from genhub.worker.engine_client import Engine
from tests.engine import EngineServer, SilentEngine
from tests.services import free_port
from tests.stack import Worker, read_events, read_until_token
from textgen.engine import StopStrings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, stack_logs: Path) -> Iterator[EngineServer]:
    from textgen.tiny import build_tiny_text_model

    # The tiny model writes max_tokens every time (no end-of-sequence token).
    model_dir = build_tiny_text_model(tmp_path_factory.mktemp("engine-model") / "tiny-text")
    server = EngineServer(model_dir, stack_logs / "transformers-serve.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def engine_worker(stack_env: dict[str, str], stack_logs: Path) -> Iterator[Worker]:
    worker = Worker(
        stack_env,
        stack_logs / "engine-worker.log",
        name="engine",
        queues="engine",
        pool="threads",
        concurrency=16,
    )
    yield worker
    worker.stop()


def _engine_model(name: str, url: str, engine_model: str, **fields: Any) -> AIModel:
    return AIModel.objects.create(
        name=name,
        modality="text",
        source_type=AIModel.SourceType.ENGINE,
        source=url,
        options={"engine_model": engine_model},
        **fields,
    )


@pytest.fixture
def engine_model(live: Any, engine: EngineServer) -> AIModel:
    return _engine_model("tiny-engine", engine.url, engine.model)


def test_an_engine_job_streams_tokens_and_succeeds(alice_client, engine_model, engine_worker):
    job = alice_client.generate_text(
        model="tiny-engine", messages=[{"role": "user", "content": "Hello"}], max_new_tokens=24
    )
    assert job["status"] == "queued"

    with alice_client.events(job["id"]) as socket:
        events = read_events(socket)

    assert events[-1]["type"] == "succeeded", events[-1]
    tokens = [e for e in events if e["type"] == "token"]
    assert tokens, "the text streamed as token events"
    streamed = events[0]["text"] + "".join(e["text"] for e in tokens)
    final = alice_client.job(job["id"])
    assert final["status"] == "succeeded"
    assert final["result"]["text"] == streamed == events[-1]["result"]["text"]
    assert final["result"]["usage"]["completion_tokens"] == 24
    assert final["result"]["usage"]["prompt_tokens"] > 0
    assert final["result"]["finish_reason"] == "length"
    assert final["metrics"]["tokens_per_second"] > 0


def test_a_prompt_goes_to_the_completions_endpoint(alice_client, engine_model, engine_worker):
    job = alice_client.generate_text(model="tiny-engine", prompt="Hello", max_new_tokens=8)
    final = alice_client.wait(job["id"], {"succeeded", "failed"})
    assert final["status"] == "succeeded", final["error"]
    assert final["result"]["usage"]["completion_tokens"] == 8


def test_cancel_mid_stream_ends_it_cancelled_with_the_partial_text(
    alice_client, engine_model, engine_worker
):
    job = alice_client.generate_text(model="tiny-engine", prompt="Hello", max_new_tokens=4096)
    with alice_client.events(job["id"]) as socket:
        read_until_token(socket)
        asked = time.monotonic()
        assert alice_client.http.post(f"/jobs/{job['id']}/cancel").status_code == 202
        events = read_events(socket, timeout=20)
    took = time.monotonic() - asked

    assert events[-1]["type"] == "cancelled"
    final = alice_client.job(job["id"])
    assert final["status"] == "cancelled"
    assert final["result"]["finish_reason"] == "cancelled"
    assert final["result"]["text"], "the text made before the cancel is kept"
    assert final["result"]["usage"]["completion_tokens"] < 4096
    assert took < 5


def test_an_engine_that_is_down_fails_the_job_within_seconds(alice_client, live, engine_worker):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    _engine_model("gone-engine", url, "some-model")
    job = alice_client.generate_text(model="gone-engine", prompt="Hello", max_new_tokens=8)
    final = alice_client.wait(job["id"], {"succeeded", "failed"}, timeout=15)
    assert final["status"] == "failed"
    assert url in final["error"] and "some-model" in final["error"]
    assert "Check that the engine is running" in final["error"]
    assert _seconds(final["started_at"], final["finished_at"]) < 10


def test_an_engine_answering_an_error_fails_the_job_with_its_answer(
    alice_client, live, engine, engine_worker
):
    # transformers serve, pinned to one model, refuses any other name with a 400.
    _engine_model("wrong-name", engine.url, "not-the-served-model")
    job = alice_client.generate_text(model="wrong-name", prompt="Hello", max_new_tokens=8)
    final = alice_client.wait(job["id"], {"succeeded", "failed"}, timeout=15)
    assert final["status"] == "failed"
    assert engine.url in final["error"] and "HTTP 400" in final["error"]
    assert "not-the-served-model" in final["error"]


def test_a_stuck_engine_fails_the_job_at_its_deadline(alice_client, live, stack_env, stack_logs):
    # Celery's time limits do not reach a threads pool: the engine client keeps it.
    silent = SilentEngine()
    _engine_model("stuck-engine", silent.url, "some-model", queue="engine-stuck")
    worker = Worker(
        {**stack_env, "GENHUB_JOB_SOFT_TIME_LIMIT": "3"},
        stack_logs / "engine-stuck-worker.log",
        name="engine-stuck",
        queues="engine-stuck",
        pool="threads",
        concurrency=2,
    )
    try:
        job = alice_client.generate_text(model="stuck-engine", prompt="Hello", max_new_tokens=8)
        final = alice_client.wait(job["id"], {"succeeded", "failed"}, timeout=20)
    finally:
        worker.stop()
        silent.close()
    assert final["status"] == "failed"
    assert "time limit of 3 s" in final["error"] and silent.url in final["error"]
    assert _seconds(final["started_at"], final["finished_at"]) < 6


def test_eight_jobs_stream_at_once_on_the_thread_worker(
    alice_client, live, engine, stack_env, stack_logs
):
    # The eight jobs wait in a queue of their own before its worker starts, so
    # their overlap does not depend on how fast the test can post them: at 32
    # tokens a job on the tiny model ends before the eighth POST on a busy CI.
    _engine_model("eight-engine", engine.url, engine.model, queue="engine-eight")
    jobs = [
        alice_client.generate_text(model="eight-engine", prompt="Hello", max_new_tokens=256)
        for _ in range(8)
    ]
    worker = Worker(
        stack_env,
        stack_logs / "engine-eight-worker.log",
        name="engine-eight",
        queues="engine-eight",
        pool="threads",
        concurrency=8,
    )
    try:
        finals = [alice_client.wait(j["id"], {"succeeded", "failed"}, timeout=120) for j in jobs]
    finally:
        worker.stop()
    assert [f["status"] for f in finals] == ["succeeded"] * 8, [f["error"] for f in finals]
    # Every job started before any finished: their running intervals all overlap.
    last_start = max(datetime.fromisoformat(f["started_at"]) for f in finals)
    first_end = min(datetime.fromisoformat(f["finished_at"]) for f in finals)
    assert last_start < first_end
    workers = Job.objects.filter(pk__in=[f["id"] for f in finals]).values_list("worker", flat=True)
    assert len(set(workers)) == 8, "each thread records its own name"


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


# --- the row: checked when saved, and again by the worker ----------------------


def _row(**fields: Any) -> AIModel:
    values: dict[str, Any] = {
        "name": "e",
        "modality": "text",
        "source_type": "engine",
        "source": "http://127.0.0.1:8001/v1",
        "options": {"engine_model": "m"},
        **fields,
    }
    return AIModel(**values)


def test_a_good_engine_row_has_no_problems():
    row = _row(options={"engine_model": "Qwen/Qwen2.5-7B-Instruct", "api_key_env": "VLLM_KEY"})
    assert row.config_problems() == {}


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"source": "127.0.0.1:8001/v1"}, "source", "base URL"),
        ({"source": "ftp://host/v1"}, "source", "base URL"),
        ({"options": {}}, "options", "options.engine_model"),
        ({"options": {"engine_model": 7}}, "options", "options.engine_model"),
        ({"options": {"engine_model": "m", "api_key_env": "sk-abc123"}}, "options", "never"),
        ({"options": {"engine_model": "m", "bogus": 1}}, "options", "Unknown option"),
        ({"modality": "image"}, "source_type", "cannot load source type 'engine'"),
        (
            {"source_type": "local", "source": "/models/x", "options": {"engine_model": "m"}},
            "options",
            "only to source type 'engine'",
        ),
    ],
)
def test_bad_engine_rows_are_refused_in_a_sentence(fields, field, words):
    problems = _row(**fields).config_problems()
    assert words in problems.get(field, ""), problems


def test_engine_jobs_go_to_queue_engine_unless_the_row_names_one():
    assert _row().job_queue == "engine"
    assert _row(queue="vllm-a100").job_queue == "vllm-a100"
    assert _row(source_type="local", options={}).job_queue == "text"


def test_an_engine_model_has_nothing_to_download():
    assert _row().is_on_disk() is True


def test_the_queue_in_sql_agrees_with_job_queue(alice):
    engine_row = _row(name="engine-row")
    engine_row.save()
    own = _row(name="own-queue", queue="vllm-a100")
    own.save()
    for model in (engine_row, own):
        Job.objects.create(owner=alice, modality="text", model=model, prompt="Hi", params={})
    names = dict(Job.objects.with_queue_name().values_list("model__name", "queue_name"))
    assert names == {"engine-row": "engine", "own-queue": "vllm-a100"}
    # And the models of a queue, as the fair order reads them (genhub/fairness.py).
    local = _row(name="local-row", source_type="local", options={})
    local.save()
    for queue in ("engine", "vllm-a100", "text", "image"):
        expected = {m.name for m in AIModel.objects.all() if m.job_queue == queue}
        assert set(AIModel.objects.sending_to(queue).values_list("name", flat=True)) == expected


def test_stop_strings_cut_the_text_and_never_stream_past_one():
    stops = StopStrings(["END"])
    sent = [stops.add(piece) for piece in ["Hello E", "N", "D and more"]]
    assert sent == ["Hello ", "", ""]
    assert stops.stopped and stops.text == "Hello "

    stops = StopStrings(["END"])
    sent = [stops.add(piece) for piece in ["An E", "ntry"]] + [stops.rest()]
    assert "".join(sent) == stops.text == "An Entry" and not stops.stopped


def test_the_api_key_comes_from_the_variable_the_row_names(monkeypatch):
    monkeypatch.setenv("GENHUB_TEST_ENGINE_KEY", "secret-123")
    row = _row(options={"engine_model": "m", "api_key_env": "GENHUB_TEST_ENGINE_KEY"})
    assert Engine.of(row).api_key() == "secret-123"
    assert Engine.of(_row()).api_key() == "none"  # no auth: any placeholder will do
