"""Who this worker is: its Celery node name, the queues it serves, its pool and
concurrency. Recorded once in the worker's main process as it starts, before the
pool forks, so every pool process inherits it; read by the heartbeat and by
anything that acts for the worker's queues.
"""

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from celery.signals import celeryd_after_setup


@dataclass(frozen=True)
class WorkerIdentity:
    node: str  # Celery's node name, "celery@host"
    hostname: str
    queues: tuple[str, ...]
    pool: str  # "prefork", "threads", "solo"
    concurrency: int
    started_pid: int = field(default_factory=os.getpid)  # the main process


_identity: WorkerIdentity | None = None


def current() -> WorkerIdentity | None:
    """This process's worker, or None outside a Celery worker (the web process,
    a test calling a runner directly)."""
    return _identity


@celeryd_after_setup.connect
def _record(sender: str, instance: Any, **kwargs: Any) -> None:
    # Sent after -Q is applied and before the pool starts: the queues are final.
    global _identity
    pool = instance.pool_cls.__module__.rsplit(".", 1)[-1]  # celery.concurrency.prefork
    _identity = WorkerIdentity(
        node=str(sender),
        hostname=socket.gethostname(),
        queues=tuple(sorted(instance.app.amqp.queues.consume_from)),
        pool={"thread": "threads"}.get(pool, pool),
        concurrency=int(instance.concurrency or 1),
    )
