"""The web process keeps a pool of PostgreSQL connections (GENHUB_DB_POOL, set by
every launcher of the web process); workers never do."""

import time

import pytest
from django.conf import settings
from django.db import connection

from tests.stack import Worker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="a connection pool is for PostgreSQL",
    ),
]


def _sessions() -> int:
    """Connections ever made to the test database (PostgreSQL's cumulative count)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def test_requests_reuse_the_web_processs_connections(alice_client):
    alice_client.http.get("/jobs")  # the pool opens, the key is checked
    time.sleep(1.5)  # PostgreSQL counts sessions once a second or so
    before = _sessions()
    for _ in range(30):
        assert alice_client.http.get("/jobs").status_code == 200
    time.sleep(1.5)
    made = _sessions() - before
    # Without the pool each request opened its own: 30 or more.
    assert made < 10, f"{made} new connections for 30 requests"


def test_a_worker_told_to_pool_runs_jobs_without_one(alice_client, stack_env, stack_logs):
    # A prefork child would share its parent's pooled sockets: the worker drops
    # the pool at start (genhub/worker/tasks.py), whatever its environment says.
    worker = Worker(
        {**stack_env, "GENHUB_DB_POOL": "1"}, stack_logs / "pooled-worker.log", name="pooled"
    )
    try:
        jobs = [alice_client.generate_text(prompt="Hi", max_new_tokens=4) for _ in range(3)]
        finals = [alice_client.wait(job["id"], {"succeeded", "failed"}) for job in jobs]
    finally:
        worker.stop()
    assert [final["status"] for final in finals] == ["succeeded"] * 3
