"""Exit 0 when the Celery worker on this host is ready to run jobs, 1 otherwise:
a Kubernetes exec probe (startup and readiness) or a Compose healthcheck, run
in the worker's own container.

Ready means both:
- a process of the worker on this host has reported in within
  GENHUB_WORKER_GONE_SECONDS (its `Worker` row, genhub/worker/reporting.py),
  and has not shut down: the worker started, its pool processes are up, and
  they still reach the database;
- the broker (Redis) answers, so it can receive jobs.

It does not talk to the worker itself (no `celery inspect ping`, which waits on
a busy worker and fails under load), so a worker deep in a long job is ready.
Use it for readiness, not liveness: a database outage would make every worker
"not ready", and restarting them all would not bring the database back.
"""

import socket
from typing import Any

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.db.models import Max

from genhub.models import Worker
from genhub.outages import REDIS_ERRORS

BROKER_TIMEOUT_SECONDS = 2.0


class Command(BaseCommand):
    help = __doc__
    # A probe runs every few seconds: Django's system checks would only slow it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hostname",
            default=socket.gethostname(),
            help="The worker's host (default: this one, as the probe runs in its container).",
        )
        parser.add_argument(
            "--queue",
            action="append",
            default=[],
            help="Also require that the live worker serves this queue (repeatable).",
        )

    def handle(self, *args: Any, hostname: str, queue: list[str], **options: Any) -> None:
        problems = [p for p in (self._reported_in(hostname, queue), self._broker()) if p]
        if problems:
            raise CommandError("Not ready: " + " ".join(problems), returncode=1)
        self.stdout.write(f"Worker on {hostname} is ready.")

    def _reported_in(self, hostname: str, queues: list[str]) -> str | None:
        try:
            rows = Worker.objects.live().filter(hostname=hostname)
            for name in queues:
                rows = rows.serving(name)
            if rows.exists():
                return None
            last = Worker.objects.filter(hostname=hostname).aggregate(Max("last_seen_at"))
        except DatabaseError as error:  # unreachable, or not migrated yet
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            return f"the database cannot be read ({error.__class__.__name__}: {reason})."
        serving = f" serving {', '.join(queues)}" if queues else ""
        seen = last["last_seen_at__max"]
        when = f"last seen {seen.isoformat()}" if seen else "never seen"
        return (
            f"no worker process{serving} on {hostname} reported in within "
            f"{settings.GENHUB_WORKER_GONE_SECONDS:g} s ({when})."
        )

    def _broker(self) -> str | None:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            client.ping()
            return None
        except REDIS_ERRORS as error:
            return f"the broker (Redis) does not answer ({error.__class__.__name__})."
        finally:
            client.close()
