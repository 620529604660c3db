"""The worker's model cache: a memory budget per process, room made before a load
from the model's estimated size, least recently used models evicted first but
never pinned ones or ones a job holds, idle models unloaded, and an unloaded
model really gone from memory."""

import shutil
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from genhub.jobs import submit_job
from genhub.models import AIModel
from genhub.worker import identity, model_cache
from genhub.worker.idle_unload import IdleUnloader
from genhub.worker.loading import load_cached, preload_cached
from genhub.worker.model_size import estimated_bytes
from genhub.worker.progress import JobProgress

# --- the budget ------------------------------------------------------------------


def _worker(pool: str, concurrency: int) -> identity.WorkerIdentity:
    return identity.WorkerIdentity("celery@host", "host", ("text",), pool, concurrency)


def test_the_budget_in_gib_wins(settings: Any) -> None:
    settings.GENHUB_MODEL_CACHE_GB = 1.5
    assert model_cache.budget_bytes("cpu") == int(1.5 * 2**30)


def test_a_prefork_pool_shares_the_device_among_its_processes(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.GENHUB_MODEL_CACHE_GB = 0
    settings.GENHUB_MODEL_CACHE_FRACTION = 0.5
    monkeypatch.setattr(model_cache, "total_memory", lambda device: 16 * 2**30)
    monkeypatch.setattr(identity, "_identity", _worker("prefork", 4))
    assert model_cache.budget_bytes("cuda") == 2 * 2**30
    # Threads share one process's cache: one budget for all of them.
    monkeypatch.setattr(identity, "_identity", _worker("threads", 4))
    assert model_cache.budget_bytes("cuda") == 8 * 2**30


def test_the_default_budget_is_a_share_of_this_machines_memory(settings: Any) -> None:
    import psutil

    settings.GENHUB_MODEL_CACHE_GB = 0
    assert model_cache.budget_bytes("cpu") == int(0.8 * psutil.virtual_memory().total)


# --- three tiny models under a small budget -------------------------------------


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    def empty() -> None:
        model_cache.release_all()
        for loaded in model_cache.loaded_models():
            model_cache.unload(loaded["name"])

    empty()
    yield
    empty()


@pytest.fixture
def three(tiny_text: AIModel, tmp_path: Path) -> list[AIModel]:
    """Three copies of the tiny text model at paths this process never loaded."""
    models = []
    for name in ("tiny-a", "tiny-b", "tiny-c"):
        source = shutil.copytree(tiny_text.source, tmp_path / name)
        models.append(
            AIModel.objects.create(
                name=name, modality="text", source_type="local", source=str(source)
            )
        )
    return models


@pytest.fixture
def model_bytes(three: list[AIModel]) -> int:
    size = estimated_bytes(three[0], 4)
    assert size
    return size


@pytest.fixture
def loads() -> list[dict[str, Any]]:
    """What the cache held each time a model started loading."""
    return []


def recording(loads: list[dict[str, Any]]) -> Callable[[AIModel, str], Any]:
    from textgen import runner

    def load(aimodel: AIModel, device: str) -> Any:
        held = [m["name"] for m in model_cache.loaded_models()]
        loads.append({"model": aimodel.name, "held": held, "bytes": model_cache.held_bytes(device)})
        return runner.load(aimodel, device)

    return load


def preload(aimodel: AIModel, loads: list[dict[str, Any]]) -> bool:
    from textgen import runner

    return preload_cached(aimodel, recording(loads), runner._nbytes)


def held() -> list[str]:
    return [m["name"] for m in model_cache.loaded_models()]


@pytest.mark.e2e
def test_room_is_made_before_a_load_and_the_least_recently_used_model_goes(
    three: list[AIModel], model_bytes: int, loads: list[dict[str, Any]], settings: Any
) -> None:
    a, b, c = three
    settings.GENHUB_MODEL_CACHE_GB = 2.5 * model_bytes / 2**30  # room for two
    budget = model_cache.budget_bytes("cpu")
    preload(a, loads)
    preload(b, loads)
    assert preload(a, loads) is False  # already loaded: a is now the most recently used
    preload(c, loads)

    assert [load["model"] for load in loads] == ["tiny-a", "tiny-b", "tiny-c"]
    # b went before c started loading: at no time did the cache and the model
    # being loaded pass the budget.
    assert loads[-1]["held"] == ["tiny-a"]
    assert all(load["bytes"] + model_bytes <= budget for load in loads)
    assert sorted(held()) == ["tiny-a", "tiny-c"]
    assert model_cache.held_bytes("cpu") <= budget


@pytest.mark.e2e
def test_a_pinned_model_is_never_evicted(
    three: list[AIModel], model_bytes: int, loads: list[dict[str, Any]], settings: Any
) -> None:
    a, b, c = three
    a.pinned = True
    a.save()
    settings.GENHUB_MODEL_CACHE_GB = 2.5 * model_bytes / 2**30
    for aimodel in (a, b, c):
        preload(aimodel, loads)
    # a is the least recently used, but pinned: b goes instead.
    assert loads[-1]["held"] == ["tiny-a"]
    assert sorted(held()) == ["tiny-a", "tiny-c"]


@pytest.mark.e2e
def test_a_model_a_running_job_holds_is_not_evicted(
    alice: Any,
    three: list[AIModel],
    model_bytes: int,
    loads: list[dict[str, Any]],
    settings: Any,
) -> None:
    from textgen import runner

    a, b, c = three
    settings.GENHUB_MODEL_CACHE_GB = 2.5 * model_bytes / 2**30
    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = True
    job = submit_job(alice, "text", a.name, {"prompt": "x", "max_new_tokens": 1})
    load_cached(job, JobProgress(job), recording(loads), runner._nbytes)  # the job holds a
    preload(b, loads)
    preload(c, loads)
    assert sorted(held()) == ["tiny-a", "tiny-c"]
    model_cache.release_all()  # the job ended: a may go now, but it was used last
    preload(b, loads)
    assert sorted(held()) == ["tiny-a", "tiny-b"]


@pytest.mark.e2e
def test_a_model_bigger_than_the_budget_still_loads_alone(
    three: list[AIModel],
    model_bytes: int,
    loads: list[dict[str, Any]],
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b, _ = three
    settings.GENHUB_MODEL_CACHE_GB = 0.5 * model_bytes / 2**30
    preload(a, loads)
    preload(b, loads)
    assert loads[-1]["held"] == []  # a went first
    assert held() == ["tiny-b"]
    assert "more than this process's model budget" in caplog.text


# --- unloading -------------------------------------------------------------------


@pytest.mark.e2e
def test_an_unloaded_model_is_gone_from_memory(
    alice: Any, three: list[AIModel], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a real job: neither the cache nor the runner keeps the model alive."""
    from textgen import runner
    from textgen.params import TextParams

    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = True
    a = three[0]
    refs: list[weakref.ref] = []
    real_load = runner.load

    def load(aimodel: AIModel, device: str) -> Any:
        model, tokenizer = real_load(aimodel, device)
        refs.append(weakref.ref(model))
        return model, tokenizer

    monkeypatch.setattr(runner, "load", load)
    job = submit_job(alice, "text", a.name, {"prompt": "Hello", "max_new_tokens": 3})
    result = runner.run(job, TextParams.model_validate(job.params), JobProgress(job))
    assert result["usage"]["completion_tokens"] == 3
    model_cache.release_all()  # as execution.py does when the job ends
    assert refs[0]() is not None  # still cached

    assert model_cache.unload(a.name) == 1
    assert a.name not in held()
    assert refs[0]() is None  # unload collected it: nothing else held it


@pytest.mark.e2e
def test_an_unload_asked_during_a_job_waits_for_its_end(
    alice: Any, three: list[AIModel], loads: list[dict[str, Any]], settings: Any
) -> None:
    from textgen import runner

    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = True
    a = three[0]
    job = submit_job(alice, "text", a.name, {"prompt": "x", "max_new_tokens": 1})
    load_cached(job, JobProgress(job), recording(loads), runner._nbytes)
    assert model_cache.unload(a.name) == 0
    assert held() == ["tiny-a"]
    model_cache.release_all()
    assert held() == []


def _wait_until(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.e2e
def test_idle_models_are_unloaded_but_pinned_and_held_ones_stay(
    alice: Any, three: list[AIModel], loads: list[dict[str, Any]], settings: Any
) -> None:
    from textgen import runner

    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = True
    a, b, c = three
    b.pinned = True
    b.save()
    preload(a, loads)
    preload(b, loads)
    job = submit_job(alice, "text", c.name, {"prompt": "x", "max_new_tokens": 1})
    load_cached(job, JobProgress(job), recording(loads), runner._nbytes)

    unloader = IdleUnloader(idle_seconds=0.5)
    unloader.start()
    try:
        assert _wait_until(lambda: "tiny-a" not in held())
        time.sleep(1.0)  # twice the idle time: the pinned and the held one stay
        assert sorted(held()) == ["tiny-b", "tiny-c"]
        model_cache.release_all()  # the job ended; idle from now
        assert _wait_until(lambda: held() == ["tiny-b"])
    finally:
        unloader.stop()
