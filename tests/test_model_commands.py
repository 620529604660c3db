"""Preload and Unload from the admin, told to the workers of a model's queue over
Redis; and a real worker that preloads, unloads, and unloads a model left idle."""

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import Client

from genhub import model_commands, redis_clients
from genhub.jobs import submit_job
from genhub.models import AIModel, Job, JobStatus
from tests.stack import Worker


def _wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise TimeoutError(f"{what} after {timeout} s")


# --- the admin's actions -----------------------------------------------------------


@pytest.fixture
def admin_client(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_superuser("root", password="root-pass-123")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def big_model(db: None) -> AIModel:
    return AIModel.objects.create(
        name="big", modality="text", source_type="local", source="/models/big", queue="big-gpu"
    )


def _act(client: Client, action: str, aimodel: AIModel) -> list[str]:
    response = client.post(
        "/admin/genhub/aimodel/",
        {"action": action, "_selected_action": [str(aimodel.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("action", ["preload", "unload"])
def test_the_admin_tells_the_workers_of_the_models_queue(
    admin_client: Client, big_model: AIModel, action: str
) -> None:
    listener = redis_clients.client().pubsub(ignore_subscribe_messages=True)
    listener.subscribe(model_commands.channel("big-gpu"))
    try:
        admin_action = "preload_on_workers" if action == "preload" else "unload_from_workers"
        messages = _act(admin_client, admin_action, big_model)
        assert messages == [f"Asked 1 worker process of queue 'big-gpu' to {action} big."]
        message = _wait_for(lambda: listener.get_message(timeout=1), "nothing heard", 10)
        assert json.loads(message["data"]) == {"action": action, "model": "big"}
    finally:
        listener.close()


def test_the_admin_says_when_no_worker_serves_the_queue(
    admin_client: Client, big_model: AIModel
) -> None:
    messages = _act(admin_client, "preload_on_workers", big_model)
    assert messages == ["No worker serves queue 'big-gpu' now, so none was asked to preload big."]


def test_the_admin_says_when_redis_is_away(
    admin_client: Client, big_model: AIModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def away(aimodel: AIModel) -> int:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(model_commands, "unload_from_workers", away)
    messages = _act(admin_client, "unload_from_workers", big_model)
    assert messages == [
        "Redis could not be reached, so no worker was asked to unload big. "
        "Try again once it is back."
    ]


# --- a real worker ---------------------------------------------------------------


def _in_log(worker: Worker, line: str) -> None:
    _wait_for(lambda: line in worker.log.read_text(), f"no '{line}' in {worker.log}")


def _copy(tiny_text: AIModel, tmp_path: Path, name: str) -> AIModel:
    """A model this worker has never loaded."""
    source = shutil.copytree(tiny_text.source, tmp_path / name)
    return AIModel.objects.create(
        name=name, modality="text", source_type="local", source=str(source)
    )


def _run_job(owner: Any, aimodel: AIModel) -> dict[str, Any]:
    """The metrics of a finished job on `aimodel`."""
    job = submit_job(owner, "text", aimodel.name, {"prompt": "Hello", "max_new_tokens": 2})

    def finished() -> Job | None:
        job.refresh_from_db()
        return job if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None

    _wait_for(finished, f"job {job.pk} still {job.status}")
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job.metrics


def _tell(tell: Callable[[AIModel], int], aimodel: AIModel) -> None:
    # The pool process subscribes just after the worker says it is ready.
    _wait_for(lambda: tell(aimodel) > 0, "no worker process listening")


@pytest.mark.django_db(transaction=True)
def test_a_preloaded_model_serves_a_job_without_a_load_and_unload_frees_it(
    alice: Any, tiny_text: AIModel, start_worker: Any, tmp_path: Path, settings: Any
) -> None:
    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = True
    aimodel = _copy(tiny_text, tmp_path, "tiny-preload")
    worker = start_worker("preloader")

    _tell(model_commands.preload_on_workers, aimodel)
    _in_log(worker, "preloaded tiny-preload")
    assert _run_job(alice, aimodel)["model_cache_hit"] is True

    _tell(model_commands.unload_from_workers, aimodel)
    _in_log(worker, "unload tiny-preload: 1 unloaded now")
    assert _run_job(alice, aimodel)["model_cache_hit"] is False


@pytest.mark.django_db(transaction=True)
def test_a_worker_unloads_a_model_left_idle(
    alice: Any, tiny_text: AIModel, start_worker: Any, tmp_path: Path, settings: Any
) -> None:
    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = True
    aimodel = _copy(tiny_text, tmp_path, "tiny-idle")
    worker = start_worker("idler", GENHUB_MODEL_IDLE_MINUTES="0.02")  # 1.2 s

    assert _run_job(alice, aimodel)["model_cache_hit"] is False
    _in_log(worker, "unloaded tiny-idle (unused for 0.02 min)")
    assert _run_job(alice, aimodel)["model_cache_hit"] is False
