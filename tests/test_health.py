"""/healthz, /readyz and `manage.py worker_ready`: what a load balancer, a
Kubernetes probe or a Compose healthcheck sees. /healthz answers whenever the
process does; /readyz only while the database, its migrations and Redis are all
there, and it follows Redis and the database away and back with no restart."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from genhub import health
from genhub.models import Worker
from genhub.models.worker import WorkerQuerySet
from tests.services import RedisServer, TcpProxy, free_port
from tests.stack import ROOT, WebServer, database_url
from tests.worker_rows import add_worker

# --- in process -----------------------------------------------------------------


def test_healthz_answers_any_host_without_auth():
    # A kubelet probes the pod's IP, which ALLOWED_HOSTS does not list.
    response = Client().get("/healthz", HTTP_HOST="10.42.0.17:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_ready_with_database_migrations_and_redis(db):
    response = Client().get("/readyz", HTTP_HOST="10.42.0.17:8000")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "migrations": "ok"},
    }


def test_readyz_takes_a_few_milliseconds(db):
    client = Client()
    client.get("/readyz")  # the first one reads the migration files, once per process
    started = time.perf_counter()
    for _ in range(20):
        assert client.get("/readyz").status_code == 200
    assert (time.perf_counter() - started) / 20 < 0.02


def test_readyz_is_not_ready_while_migrations_are_pending(db, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("x", False)])
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 not applied (run manage.py migrate)"


def test_readyz_is_not_ready_when_redis_does_not_answer(db, settings, monkeypatch):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    health._redis_client.cache_clear()
    try:
        response = Client().get("/readyz")
    finally:
        health._redis_client.cache_clear()
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"database": "ok", "redis": "unreachable", "migrations": "ok"},
    }


# --- worker_ready ------------------------------------------------------------------


def worker_ready(**options: Any) -> str:
    out = StringIO()
    call_command("worker_ready", stdout=out, **options)
    return out.getvalue()


def on_this_host(row: Worker) -> Worker:
    row.hostname = socket.gethostname()
    row.save(update_fields=["hostname"])
    return row


def test_worker_ready_with_a_live_row_on_this_host(db):
    on_this_host(add_worker("text,image"))
    assert "is ready" in worker_ready()
    assert "is ready" in worker_ready(queue=["image"])


def test_worker_not_ready_without_a_row_on_this_host(db):
    add_worker("text")  # on another host
    with pytest.raises(CommandError, match="never seen") as raised:
        worker_ready()
    assert raised.value.returncode == 1


def test_worker_not_ready_when_its_row_is_stale_or_stopped(db, settings):
    on_this_host(add_worker(seen_seconds_ago=settings.GENHUB_WORKER_GONE_SECONDS + 1))
    with pytest.raises(CommandError, match="reported in within"):
        worker_ready()
    Worker.objects.all().delete()
    on_this_host(add_worker(stopped=True))
    with pytest.raises(CommandError, match="reported in within"):
        worker_ready()


def test_worker_not_ready_for_a_queue_it_does_not_serve(db):
    on_this_host(add_worker("text"))
    with pytest.raises(CommandError, match="serving audio"):
        worker_ready(queue=["audio"])


def test_worker_not_ready_when_the_broker_does_not_answer(db, settings):
    on_this_host(add_worker("text"))
    settings.CELERY_BROKER_URL = f"redis://:secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(CommandError, match=r"broker \(Redis\) does not answer") as raised:
        worker_ready()
    assert "secret" not in str(raised.value)


def test_worker_not_ready_when_the_database_cannot_be_read(db, monkeypatch):
    def unreachable(self: Any) -> None:
        raise OperationalError("connection to server at 10.0.0.5 failed\nmore detail")

    monkeypatch.setattr(WorkerQuerySet, "live", unreachable)
    with pytest.raises(CommandError) as raised:
        worker_ready()
    assert "the database cannot be read (OperationalError: connection to server" in str(
        raised.value
    )


@pytest.mark.django_db(transaction=True)
def test_worker_ready_exit_codes_as_a_probe_sees_them(stack_env):
    def probe() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "worker_ready"],
            cwd=ROOT,
            env=stack_env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    missing = probe()
    assert missing.returncode == 1, missing.stderr
    assert "Not ready: no worker process" in missing.stderr
    on_this_host(add_worker("text"))
    ready = probe()
    assert ready.returncode == 0, ready.stderr


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_started_worker_is_ready(start_worker, stack_env):
    start_worker("ready-probe")  # returns once its pool process has reported in
    result = subprocess.run(
        [sys.executable, "manage.py", "worker_ready", "--queue", "text"],
        cwd=ROOT,
        env=stack_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# --- the live server, losing Redis and the database ---------------------------------------


@pytest.fixture
def outage_server(
    transactional_db: None, stack_env: dict[str, str], stack_logs: Any
) -> Iterator[tuple[WebServer, RedisServer, TcpProxy | None]]:
    """A web server on a private Redis, and on PostgreSQL through a proxy the test can cut."""
    redis_server = RedisServer()
    env = {**stack_env, "REDIS_URL": redis_server.url}
    proxy = None
    if connection.vendor == "postgresql":
        settings_dict = connection.settings_dict
        proxy = TcpProxy(
            settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432)
        )
        through = {**settings_dict, "HOST": "127.0.0.1", "PORT": proxy.port}
        env["DATABASE_URL"] = database_url(through)
    server = WebServer(env, stack_logs / "health-web.log")
    yield server, redis_server, proxy
    server.stop()
    redis_server.close()
    if proxy is not None:
        proxy.close()


def wait_for_status(url: str, status: int, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url, timeout=5)
        if response.status_code == status:
            return response.json()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} still {response.status_code}: {response.text}")
        time.sleep(0.2)


@pytest.mark.e2e
def test_readyz_follows_redis_and_the_database_away_and_back(outage_server):
    server, redis_server, proxy = outage_server
    ready, health_url = f"{server.url}/readyz", f"{server.url}/healthz"
    assert wait_for_status(ready, 200)["status"] == "ready"

    redis_server.stop()
    body = wait_for_status(ready, 503)
    assert body["checks"] == {"database": "ok", "redis": "unreachable", "migrations": "ok"}
    assert httpx.get(health_url).status_code == 200  # alive: nothing to restart
    redis_server.start()  # the same port, as a restarted Redis comes back
    assert wait_for_status(ready, 200)["checks"]["redis"] == "ok"

    if proxy is None:
        return  # SQLite is a file, not a server to lose
    proxy.cut()
    body = wait_for_status(ready, 503)
    assert body["checks"] == {"database": "unreachable", "redis": "ok", "migrations": "unknown"}
    assert httpx.get(health_url).status_code == 200
    proxy.restore()
    assert wait_for_status(ready, 200)["status"] == "ready"
