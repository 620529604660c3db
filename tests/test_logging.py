"""Log lines: readable text by default, one JSON object per line with
GENHUB_LOG_FORMAT=json, and every line of a job's life (the request that made
it, the worker that ran it) carries the job's id."""

import io
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from genhub.log_context import JobIdFilter, current_job_id, job_scope
from genhub.log_format import JsonFormatter, TextFormatter
from genhub.models import ApiKey
from tests.stack import ROOT, Client, WebServer

JOB = "0b7e4c2a-9a51-4f43-8d8e-2f6f3c1d5e77"


def record(message: str = "hello %s", *args: Any, **extra: Any) -> logging.LogRecord:
    made = logging.getLogger("genhub.test").makeRecord(
        "genhub.test", logging.INFO, __file__, 1, message, args or ("world",), None, extra=extra
    )
    JobIdFilter().filter(made)
    return made


def test_text_lines_name_the_job_they_belong_to():
    with job_scope(JOB):
        inside = TextFormatter().format(record())
    outside = TextFormatter().format(record())
    assert inside.endswith(f"INFO genhub.test [job {JOB}]: hello world")
    assert outside.endswith("INFO genhub.test: hello world")


def test_json_lines_are_one_object_each_with_the_job_id_and_extras():
    with job_scope(JOB):
        line = JsonFormatter().format(record(queue="text", size=3))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO" and entry["logger"] == "genhub.test"
    assert entry["job_id"] == JOB
    assert entry["queue"] == "text" and entry["size"] == 3
    assert entry["time"].endswith("+00:00")
    assert "job_id" not in json.loads(JsonFormatter().format(record()))


def test_json_lines_keep_a_traceback_in_one_line():
    try:
        raise ValueError("bad value")
    except ValueError:
        made = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = JsonFormatter().format(made)
    assert "\n" not in line
    assert "ValueError: bad value" in json.loads(line)["exception"]


def test_each_thread_logs_its_own_job():
    # A threads-pool worker runs several jobs at once, one per thread.
    seen: dict[str, str | None] = {}
    barrier = threading.Barrier(2)

    def run(job_id: str) -> None:
        with job_scope(job_id):
            barrier.wait()  # both bound at once
            seen[job_id] = current_job_id()

    threads = [threading.Thread(target=run, args=(job,)) for job in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": "a", "b": "b"}
    assert current_job_id() is None


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_setting_picks_the_format(fmt, tmp_path):
    script = "import django, logging; django.setup(); logging.getLogger('genhub.x').warning('hi')"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**_env(), "GENHUB_LOG_FORMAT": fmt},
        capture_output=True,
        text=True,
        timeout=60,
    )
    last = result.stderr.strip().splitlines()[-1]
    if fmt == "json":
        assert json.loads(last)["message"] == "hi"
    else:
        assert last.endswith("WARNING genhub.x: hi")


def test_an_unknown_format_is_refused():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**_env(), "GENHUB_LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "GENHUB_LOG_FORMAT must be text or json" in result.stderr


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "DJANGO_SETTINGS_MODULE": "genhub.settings"}


# --- the web request -------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger's lines as the console handler writes them with GENHUB_LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(JobIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_request_that_makes_a_job_logs_its_id(alice_api, tiny_text, json_log):
    response = alice_api.post(
        "/api/v1/text/generations",
        {"prompt": "Hello", "max_new_tokens": 2},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    request_lines = [e for e in lines(json_log) if "/api/v1/text/generations" in e["message"]]
    assert request_lines == [
        {**request_lines[0], "message": "POST /api/v1/text/generations: 202", "job_id": job_id}
    ]
    # The request's binding ends with it: the next request, and the test, log without it.
    assert current_job_id() is None
    alice_api.post(
        "/api/v1/text/generations", {"prompt": ""}, content_type="application/json"
    )  # refused: no job, no id
    assert all(e.get("job_id") in (None, job_id) for e in lines(json_log))


# --- through the worker ---------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_json_lines_carry_the_job_id_from_the_web_request_through_the_worker(
    stack_env, stack_logs, start_worker, alice, tiny_text
):
    env = {**stack_env, "GENHUB_LOG_FORMAT": "json"}
    web = WebServer(env, stack_logs / "json-web.log")
    try:
        worker = start_worker("json-logs", GENHUB_LOG_FORMAT="json")
        _, key = ApiKey.issue(alice)
        client = Client(web, key)
        job_id = client.generate_text(prompt="Hello", max_new_tokens=3)["id"]
        assert client.wait(job_id, {"succeeded", "failed"}, 120)["status"] == "succeeded"
    finally:
        web.stop()
    worker.stop()

    def json_lines(path: Any) -> list[dict[str, Any]]:
        # Celery prints its start-up banner straight to stdout; every logged line is JSON.
        return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]

    web_lines = [e for e in json_lines(web.log) if e.get("job_id") == job_id]
    assert [e["message"] for e in web_lines] == ["POST /api/v1/text/generations: 202"]
    worker_lines = [e for e in json_lines(worker.log) if e.get("job_id") == job_id]
    # The model loads for this job: the worker's line about it belongs to the job.
    assert any(e["message"].startswith("loaded tiny-text") for e in worker_lines), worker_lines
