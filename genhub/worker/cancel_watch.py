"""The worker's side of a cancel: a thread subscribed to the job's cancel channel
sets a local event, so the runner's check between tokens costs nothing (a Redis
round trip per token was a tenth of a tiny model's speed)."""

import logging
import threading
from types import TracebackType

from genhub import redis_clients
from genhub.cancel_flags import CANCEL, STOP_WATCHING, channel, is_raised

log = logging.getLogger(__name__)


class CancelWatch:
    """Sets `event` when the job's cancel flag is raised, from a daemon thread."""

    def __init__(self, job_id: object, event: threading.Event) -> None:
        self.job_id = job_id
        self.event = event
        self._pubsub = redis_clients.client().pubsub(ignore_subscribe_messages=True)
        self._thread = threading.Thread(target=self._listen, daemon=True, name="cancel-watch")

    def __enter__(self) -> "CancelWatch":
        try:
            self._pubsub.subscribe(channel(self.job_id))
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
                redis_clients.client().publish(channel(self.job_id), STOP_WATCHING)
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
