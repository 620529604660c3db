"""Worker rows as a worker process would write them, for tests that need a
worker to be seen (or gone) without starting one."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from genhub.models import Worker


def add_worker(
    queues: str = "text",
    *,
    seen_seconds_ago: float = 0,
    stopped: bool = False,
    job: Any = None,
    node: str = "text@host",
) -> Worker:
    now = timezone.now()
    return Worker.objects.create(
        node=node,
        hostname="host",
        pid=4242,
        queues=queues,
        pool="prefork",
        concurrency=1,
        device="cpu (2 cores)",
        memory_total=8 * 2**30,
        memory_free=3 * 2**30,
        loaded_models=[{"name": "tiny-text", "bytes": 5 * 2**20}],
        job=job,
        version="0.1.0",
        started_at=now - timedelta(seconds=seen_seconds_ago + 60),
        last_seen_at=now - timedelta(seconds=seen_seconds_ago),
        stopped_at=now if stopped else None,
    )
