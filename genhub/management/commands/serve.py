"""Everything `make run` needs, in one command: Redis (started if none answers),
migrations, the default models, the ASGI server, a Celery worker for the
modalities' queues and a thread-pool worker for engine models' jobs. Ctrl-C
stops them all."""

import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlparse

import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from genhub import modalities
from genhub.celery import WEBHOOK_QUEUE
from genhub.models.aimodel import ENGINE_QUEUE

# The engine worker's endpoint is the next port.
DEFAULT_WORKER_METRICS_PORT = 9808


def _metrics_env(role: str, worker_port: int = 0) -> dict[str, str]:
    """The environment of one child: its own, emptied, multiprocess directory for
    prometheus-client (values of an earlier run would be summed in), and for a
    worker the port of its metrics endpoint, on this machine only."""
    directory = settings.VAR_DIR / "metrics" / role
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    if worker_port:
        env["GENHUB_WORKER_METRICS_PORT"] = str(worker_port)
        env.setdefault("GENHUB_WORKER_METRICS_ADDRESS", "127.0.0.1")
    return env


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--tiny", action="store_true", help="Use tiny random models (no download)."
        )
        parser.add_argument(
            "--queues",
            default=",".join([*(m.queue for m in modalities.all_modalities()), WEBHOOK_QUEUE]),
            help="Queues the worker serves (default: every registered modality's, and webhooks).",
        )

    def handle(
        self, *args: Any, host: str, port: int, tiny: bool, queues: str, **opts: Any
    ) -> None:
        children: list[subprocess.Popen] = []
        try:
            redis_server = self._ensure_redis()
            if redis_server:
                children.append(redis_server)
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Database ready.")
            call_command("bootstrap_models", tiny=tiny)
            # Events are small JSON; compressing each one costs more CPU than it saves.
            web = "uvicorn genhub.asgi:application --ws-per-message-deflate false"
            web_args = ("--host", host, "--port", str(port))
            # A pool of database connections, for the web process only (genhub/settings.py).
            web_env = {**_metrics_env("web"), "GENHUB_DB_POOL": "1"}
            children.append(self._spawn(*web.split(), *web_args, env=web_env))
            worker = (
                "celery -A genhub worker -c 1 -P prefork -l INFO --without-gossip --without-mingle"
            )
            metrics_port = settings.GENHUB_WORKER_METRICS_PORT or DEFAULT_WORKER_METRICS_PORT
            worker_env = _metrics_env("worker", metrics_port)
            children.append(self._spawn(*worker.split(), "-Q", queues, env=worker_env))
            # Engine jobs only stream from an external engine (docs/models.md,
            # "Engines"): threads, so dozens stream at once and the engine batches them.
            engine_worker = (
                f"celery -A genhub worker -Q {ENGINE_QUEUE} -P threads -c 32 -n engine@%h "
                "-l INFO --without-gossip --without-mingle"
            )
            engine_env = _metrics_env("engine", metrics_port + 1)
            children.append(self._spawn(*engine_worker.split(), env=engine_env))
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nGenHub is running at http://{host}:{port}/  (API docs: /api/v1/docs)\n"
                    "Create an API key with: python manage.py create_api_key YOUR_NAME\n"
                    f"Metrics: http://{host}:{port}/metrics, the workers' on ports "
                    f"{metrics_port} and {metrics_port + 1}.\n"
                    "Press Ctrl-C to stop.\n"
                )
            )
            self._wait(children)
        finally:
            self._stop(children)

    def _ensure_redis(self) -> subprocess.Popen | None:
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
            self.stdout.write(f"Redis answers at {settings.REDIS_URL}.")
            return None
        except redis.ConnectionError:
            pass
        url = urlparse(settings.REDIS_URL)
        if url.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise CommandError(f"Redis at {settings.REDIS_URL} does not answer.")
        binary = shutil.which("redis-server")
        if binary is None:
            raise CommandError(
                "No Redis answers and redis-server is not installed. Install it "
                "(Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL."
            )
        data_dir = settings.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Starting redis-server on port {url.port or 6379} (data in {data_dir}).")
        # Append-only, so jobs waiting in the queue survive a restart.
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(url.port or 6379),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(data_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                redis.Redis.from_url(settings.REDIS_URL).ping()
                return process
            except redis.ConnectionError:
                time.sleep(0.1)
        process.terminate()
        raise CommandError("redis-server did not start; see its log.")

    def _spawn(self, *command: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", *command], env=env)

    def _wait(self, children: list[subprocess.Popen]) -> None:
        # Ctrl-C reaches the whole process group, so the children stop on their
        # own; SIGTERM reaches only us, and _stop passes it on.
        stopping: list[int] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda signum, frame: stopping.append(signum))
        while not stopping:
            for child in children:
                if child.poll() is not None and not stopping:
                    raise CommandError(f"{child.args!r} exited with {child.returncode}.")
            time.sleep(0.2)
        self.stdout.write("\nStopping GenHub...")

    def _stop(self, children: list[subprocess.Popen]) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in reversed(children):
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
