"""The database goes away: the API answers 503 JSON with Retry-After (pages a plain
503), never a 500 traceback; a worker that finished a job keeps the result and
saves it once the database returns. A TCP proxy stands between the process and
PostgreSQL, so the test can cut it off and let it back."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test import Client as DjangoClient

from genhub.models import ApiKey
from tests.services import TcpProxy
from tests.stack import Client, WebServer, Worker, database_url, read_until_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOKENS = 300  # long enough that the cut, at the first token, comes while it generates


@pytest.fixture
def db_proxy(transactional_db: None) -> Iterator[TcpProxy]:
    settings_dict = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite is a file, not a server to lose")
    proxy = TcpProxy(
        settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432)
    )
    yield proxy
    proxy.close()


def through(proxy: TcpProxy, env: dict[str, str]) -> dict[str, str]:
    """`env` with DATABASE_URL pointing at the proxy."""
    settings_dict = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": proxy.port}
    return {**env, "DATABASE_URL": database_url(settings_dict)}


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout} s")
        time.sleep(0.1)


def test_a_finished_job_is_saved_once_the_database_returns(
    db_proxy, stack_env, stack_logs, web_server, alice, tiny_text
):
    worker = Worker(
        through(db_proxy, stack_env), stack_logs / "db-fault-worker.log", name="dbfault"
    )
    try:
        _, key = ApiKey.issue(alice)
        client = Client(web_server, key)  # the web server reaches the database directly
        job = client.generate_text(prompt="Hello", max_new_tokens=TOKENS)
        with client.events(job["id"]) as socket:
            read_until_token(socket)  # claimed and generating: the next write is the final save
            db_proxy.cut()
            retrying = f"job {job['id']}: the database is unreachable"
            wait_for(lambda: retrying in worker.log.read_text(), 120, "no retried save")
            db_proxy.restore()
        final = client.wait(job["id"], {"succeeded", "failed", "cancelled"}, 60)
    finally:
        worker.stop()
    assert final["status"] == "succeeded", final["error"]
    assert final["attempts"] == 1  # kept, not run again
    assert final["result"]["usage"]["completion_tokens"] == TOKENS
    assert final["result"]["text"]


def test_the_api_answers_503_while_the_database_is_away(db_proxy, stack_env, stack_logs, alice):
    web = WebServer(through(db_proxy, stack_env), stack_logs / "db-fault-web.log")
    try:
        _, key = ApiKey.issue(alice)
        client = Client(web, key)
        browser = DjangoClient()
        browser.force_login(alice)
        cookies = {"sessionid": browser.cookies["sessionid"].value}
        assert client.http.get("/jobs").status_code == 200

        db_proxy.cut()
        for response in (
            client.http.get("/jobs"),
            client.http.post("/text/generations", json={"prompt": "hi"}),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/json"
            assert "database" in response.json()["detail"]
            assert int(response.headers["Retry-After"]) > 0
        page = httpx.get(f"{web.url}/history/", cookies=cookies, timeout=10)
        assert page.status_code == 503
        assert "Traceback" not in page.text and "database" in page.text

        db_proxy.restore()
        wait_for(lambda: client.http.get("/jobs").status_code == 200, 30, "no recovery")
    finally:
        web.stop()
