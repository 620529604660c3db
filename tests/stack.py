"""The real service for end-to-end tests: the ASGI app under uvicorn and Celery
workers, as subprocesses on the test database and the test Redis."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent


def database_url(settings_dict: dict[str, Any]) -> str:
    """DATABASE_URL for the database pytest-django created."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def _wait_for(predicate: Any, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout} s\n{tail}")


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill takes its children too
        )

    def stop(self) -> None:
        if self.handle.poll() is None:
            os.killpg(self.handle.pid, signal.SIGTERM)
            try:
                self.handle.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.handle.pid, signal.SIGKILL)
                self.handle.wait(5)

    def kill(self) -> None:
        """SIGKILL the whole process group: the machine lost power, as far as it knows."""
        os.killpg(self.handle.pid, signal.SIGKILL)
        self.handle.wait(5)


class Worker(Process):
    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        name: str,
        queues: str = "text",
        pool: str = "prefork",
        concurrency: int = 1,
    ) -> None:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "genhub",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-P",
            pool,
            "-n",
            f"{name}@%h",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        super().__init__(args, env, log)
        # Ready, and its pool process has reported in: jobs for its queue are accepted.
        _wait_for(
            lambda: "ready." in (text := log.read_text()) and " reports in for " in text,
            60,
            f"worker {name}",
            log,
        )

    def stop(self) -> None:
        """A clean shutdown as a container runtime or `make run` asks for it:
        SIGTERM to the main process only, which finishes its running jobs and
        ends its pool. SIGTERM to the whole group would kill pool processes
        mid-job, and the main process would fork new ones (which report in)
        while it shuts down."""
        if self.handle.poll() is None:
            self.handle.send_signal(signal.SIGTERM)
            try:
                self.handle.wait(60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.handle.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
        self.handle.wait(5)


def uvicorn_command(port: int, workers: int = 1) -> list[str]:
    """The web process as `make run` and the deploy files serve it, on this machine."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "genhub.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--ws-per-message-deflate",  # events are small JSON: compressing costs more than it saves
        "false",
    ]


class WebServer(Process):
    def __init__(self, env: dict[str, str], log: Path, port: int | None = None) -> None:
        self.env = env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [*uvicorn_command(self.port), "--log-level", "warning"]
        # As every launcher of the web process sets it (genhub/settings.py).
        super().__init__(args, {**env, "GENHUB_DB_POOL": "1"}, log)
        _wait_for(self._answers, 60, "web server", log)

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v1/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start_again(self) -> None:
        """Start the server again on the same port after `stop()`, as a deploy or a
        crash and restart would; clients reconnect to the same address."""
        WebServer.__init__(self, self.env, self.log, self.port)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")


class Client:
    """An API client holding one key, as a script using GenHub would."""

    def __init__(self, server: WebServer, key: str) -> None:
        self.server = server
        self.headers = {"Authorization": f"Bearer {key}"}
        self.http = httpx.Client(base_url=f"{server.url}/api/v1", headers=self.headers, timeout=30)

    def generate_text(self, **body: Any) -> dict[str, Any]:
        response = self.http.post("/text/generations", json=body)
        assert response.status_code == 202, response.text
        return response.json()

    def generate_image(self, **body: Any) -> dict[str, Any]:
        response = self.http.post("/images/generations", json=body)
        assert response.status_code == 202, response.text
        return response.json()

    def generate_audio(self, **body: Any) -> dict[str, Any]:
        response = self.http.post("/audio/generations", json=body)
        assert response.status_code == 202, response.text
        return response.json()

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.http.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, job_id: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] in statuses:
                return job
            time.sleep(0.1)
        raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")

    def events(self, job_id: str, timeout: float = 60, **connect_args: Any) -> Any:
        """A WebSocket on the job's events; iterate `read_events` over it."""
        return connect(
            f"{self.server.ws_url}/ws/jobs/{job_id}/",
            additional_headers=self.headers,
            open_timeout=10,
            close_timeout=2,
            **connect_args,
        )


def read_events(socket: Any, timeout: float = 60) -> list[dict[str, Any]]:
    """Every event until the server closes the socket."""
    events = []
    deadline = time.monotonic() + timeout
    from websockets.exceptions import ConnectionClosed

    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"socket still open after {timeout} s; got {events[-3:]}")
            events.append(json.loads(socket.recv(timeout=remaining)))
    except ConnectionClosed:
        return events


def read_until_token(socket: Any, timeout: float = 60) -> list[dict[str, Any]]:
    """Events up to and including the first `token`: the job is generating."""
    return read_until(socket, "token", timeout)


def read_until(socket: Any, event_type: str, timeout: float = 60) -> list[dict[str, Any]]:
    """Events up to and including the first one of `event_type`."""
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["type"] != event_type:
        seen.append(json.loads(socket.recv(timeout=timeout)))
    return seen
