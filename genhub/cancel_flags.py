"""Cancel requests for running jobs, delivered to the worker as they happen.

`raise_flag` sets a Redis key and publishes on the job's cancel channel. A worker
running the job holds a `CancelWatch`: a thread subscribed to that channel that
sets a local event, so the runner's check between tokens costs nothing (a Redis
round trip per token was a tenth of a tiny model's speed). The key covers a
request made before the watch subscribed; the database's `cancel_requested`,
which the heartbeat reads, covers a Redis that lost both.
"""

import logging
import threading
from types import TracebackType

from genhub import redis as genhub_redis

log = logging.getLogger(__name__)

FLAG_TTL_SECONDS = 24 * 3600


def _key(job_id: object) -> str:
    return f"genhub:job:{job_id}:cancel"


CANCEL, STOP_WATCHING = "cancel", "stop"


def raise_flag(job_id: object) -> None:
    client = genhub_redis.client()
    client.set(_key(job_id), "1", ex=FLAG_TTL_SECONDS)
    client.publish(_key(job_id), CANCEL)


def is_raised(job_id: object) -> bool:
    return bool(genhub_redis.client().exists(_key(job_id)))


class CancelWatch:
    """Sets `event` when the job's cancel flag is raised, from a daemon thread."""

    def __init__(self, job_id: object, event: threading.Event) -> None:
        self.job_id = job_id
        self.event = event
        self._pubsub = genhub_redis.client().pubsub(ignore_subscribe_messages=True)
        self._thread = threading.Thread(target=self._listen, daemon=True, name="cancel-watch")

    def __enter__(self) -> "CancelWatch":
        try:
            self._pubsub.subscribe(_key(self.job_id))
            if is_raised(self.job_id):  # asked before we listened
                self.event.set()
        except Exception:
            # Without Redis the job still runs; the heartbeat reads the database flag.
            log.exception("no cancel watch for job %s", self.job_id)
            return self
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._thread.is_alive():
            try:
                genhub_redis.client().publish(_key(self.job_id), STOP_WATCHING)
            except Exception:
                log.exception("could not stop the cancel watch of job %s", self.job_id)
            self._thread.join(timeout=5)
        self._pubsub.close()

    def _listen(self) -> None:
        # A blocking read, woken by a message: polling with a timeout kept the
        # GIL busy enough to halve a small model's token rate.
        try:
            for message in self._pubsub.listen():
                if message["type"] != "message":
                    continue
                if message["data"] == CANCEL:
                    self.event.set()
                return
        except Exception:
            # Redis went away; the heartbeat still reads the database flag.
            log.exception("cancel watch for job %s stopped", self.job_id)
