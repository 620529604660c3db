"""Fixtures: the people (alice owns, bob is someone else, staff opens the admin
but sees only their own jobs, operator sees all), their keys, tiny models, and
the live service for end-to-end tests."""

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management.base import CommandError
from django.db.utils import OperationalError
from django.test import Client as DjangoClient
from django.test import TransactionTestCase

from genhub import log_context
from genhub.models import AIModel, ApiKey
from tests.stack import Client, WebServer, Worker, database_url


def _quiet(message: str) -> None:
    pass


_flush_database = TransactionTestCase._fixture_teardown  # type: ignore[attr-defined]


def _flush_database_again_after_a_deadlock(self: TransactionTestCase) -> None:
    """A transactional test ends by truncating every table in one statement,
    while the stack's workers go on with their sweeps and beats. A worker's join
    locks its tables in another order than TRUNCATE does, so PostgreSQL may end
    the flush as a deadlock's victim; the next try finds the worker's statement
    gone."""
    for attempt in range(3):
        try:
            _flush_database(self)
            return
        except CommandError as error:
            if attempt == 2 or not isinstance(error.__cause__, OperationalError):
                raise
            time.sleep(0.5)


TransactionTestCase._fixture_teardown = _flush_database_again_after_a_deadlock  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_job_bound() -> Iterator[None]:
    """Each test starts with no job bound to its log lines and leaves none behind:
    a test that calls submit_job directly binds the job in the test's own context,
    as a request would (genhub/log_context.py)."""
    token = log_context.bind_none()
    yield
    log_context.restore(token)


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", password="alice-pass-123")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", password="bob-pass-123")


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("staff", password="staff-pass-123", is_staff=True)


@pytest.fixture
def operator(django_user_model: Any) -> Any:
    """Staff in the Operators group, which holds genhub.view_all_jobs."""
    user = django_user_model.objects.create_user(
        "operator", password="operator-pass-123", is_staff=True
    )
    # Migration 0005 makes the group, but a transactional test's flush empties
    # it again; the permission itself comes back with every flush.
    group, _ = Group.objects.get_or_create(name="Operators")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="genhub", codename="view_all_jobs")
    )
    user.groups.add(group)
    return user


def _api_client(user: Any) -> DjangoClient:
    _, key = ApiKey.issue(user)
    return DjangoClient(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def alice_api(alice: Any) -> DjangoClient:
    return _api_client(alice)


@pytest.fixture
def bob_api(bob: Any) -> DjangoClient:
    return _api_client(bob)


@pytest.fixture
def staff_api(staff: Any) -> DjangoClient:
    return _api_client(staff)


@pytest.fixture
def operator_api(operator: Any) -> DjangoClient:
    return _api_client(operator)


@pytest.fixture
def tiny_text(db: None) -> AIModel:
    """The tiny text model, built once per session, registered as the default."""
    from textgen.bootstrap import register_tiny

    return register_tiny(settings.GENHUB_MODEL_DIR, _quiet)


@pytest.fixture
def tiny_image(db: None) -> AIModel:
    """The tiny Stable Diffusion pipeline, built once per session, the image default."""
    from imagegen.bootstrap import register_tiny

    return register_tiny(settings.GENHUB_MODEL_DIR, _quiet)


@pytest.fixture
def tiny_audio(db: None) -> AIModel:
    """The tiny MusicGen, built once per session, the audio default."""
    from audiogen.bootstrap import register_tiny

    return register_tiny(settings.GENHUB_MODEL_DIR, _quiet)


# --- the live service ---------------------------------------------------------


@pytest.fixture(scope="session")
def stack_env(django_db_setup: None, django_db_blocker: Any) -> dict[str, str]:
    from django.db import connection

    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="session")
def stack_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack-logs")


@pytest.fixture(scope="session")
def web_server(stack_env: dict[str, str], stack_logs: Path) -> Iterator[WebServer]:
    server = WebServer(stack_env, stack_logs / "web.log")
    yield server
    server.stop()


def _module_worker(queue: str, env: dict[str, str], logs: Path, module: str) -> Iterator[Worker]:
    # One log per queue: a module may start a text and an image worker.
    worker = Worker(env, logs / f"{module}-{queue}.log", name=queue, queues=queue)
    yield worker
    worker.stop()


# A worker per queue for one test module; modules that kill workers start their own.
@pytest.fixture(scope="module")
def text_worker(stack_env: dict[str, str], stack_logs: Path, request: Any) -> Iterator[Worker]:
    yield from _module_worker("text", stack_env, stack_logs, request.module.__name__)


@pytest.fixture(scope="module")
def image_worker(stack_env: dict[str, str], stack_logs: Path, request: Any) -> Iterator[Worker]:
    yield from _module_worker("image", stack_env, stack_logs, request.module.__name__)


@pytest.fixture(scope="module")
def audio_worker(stack_env: dict[str, str], stack_logs: Path, request: Any) -> Iterator[Worker]:
    yield from _module_worker("audio", stack_env, stack_logs, request.module.__name__)


@pytest.fixture
def start_worker(stack_env: dict[str, str], stack_logs: Path) -> Iterator[Any]:
    """Start extra workers for one test (worker-loss tests kill them)."""
    started: list[Worker] = []

    def start(name: str, **env: str) -> Worker:
        worker = Worker({**stack_env, **env}, stack_logs / f"{name}.log", name=name)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def live(
    transactional_db: None,
    web_server: WebServer,
    tiny_text: AIModel,
    tiny_image: AIModel,
    tiny_audio: AIModel,
) -> WebServer:
    """The web server, with the database committed so the subprocesses see it."""
    return web_server


@pytest.fixture
def alice_client(live: WebServer, alice: Any) -> Client:
    _, key = ApiKey.issue(alice)
    return Client(live, key)


@pytest.fixture
def bob_client(live: WebServer, bob: Any) -> Client:
    _, key = ApiKey.issue(bob)
    return Client(live, key)


# --- markers -------------------------------------------------------------------

# Tests that run a real model in-process (tiny ones, built on the fly): no server,
# but seconds each, so they run with the end-to-end tests, not `make test-fast`.
_MODEL_MODULES = (
    "test_text_runner",
    "test_image_runner",
    "test_image_batches",
    "test_audio_runner",
    "test_text_streaming",
    "test_image_tiny",
    "test_audio_tiny",
    "test_default_model",
    "test_engine_text",
    "test_openai_compat",
    "test_metrics",
)
_LIVE_FIXTURES = {
    "live",
    "web_server",
    "text_worker",
    "image_worker",
    "audio_worker",
    "start_worker",
}
_TIERS = ("unit", "e2e", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test one of the markers unit, e2e or browser: `make test-fast`
    runs `-m unit`, `make test` all of them. A module's own mark wins."""
    for item in items:
        if any(item.get_closest_marker(tier) for tier in _TIERS):
            continue
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module == "test_browser":
            item.add_marker(pytest.mark.browser)
        elif module in _MODEL_MODULES or _LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
        else:
            item.add_marker(pytest.mark.unit)
