"""Loaded by pytest (`-p tests.environment`) before Django reads its settings.

It gives the test session its own Redis on a free port and its own model folder,
and short heartbeat and sweep intervals so that worker-loss tests run in seconds.
Subprocesses (the ASGI server, Celery workers) inherit all of it.
"""

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="genhub-test-redis-")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise RuntimeError("the test Redis did not start") from None
            time.sleep(0.05)

    def stop() -> None:
        process.terminate()
        process.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(stop)
    return process, url


REDIS_PROCESS, REDIS_URL = start_redis()
MODEL_DIR = tempfile.mkdtemp(prefix="genhub-test-models-")
MEDIA_DIR = tempfile.mkdtemp(prefix="genhub-test-media-")
atexit.register(shutil.rmtree, MODEL_DIR, True)
atexit.register(shutil.rmtree, MEDIA_DIR, True)

os.environ.update(
    {
        "REDIS_URL": REDIS_URL,
        "GENHUB_MODEL_DIR": MODEL_DIR,
        "MEDIA_ROOT": MEDIA_DIR,
        "GENHUB_DEVICE": "cpu",
        "GENHUB_JOB_HEARTBEAT_SECONDS": "0.5",
        "GENHUB_JOB_STALE_SECONDS": "3",
        "GENHUB_SWEEP_SECONDS": "1",
        "GENHUB_MAX_PROMPT_CHARS": "2000",
        "DEBUG": "false",
    }
)
