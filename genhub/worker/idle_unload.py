"""A daemon thread in each job-running worker process that unloads the models no
job has used for GENHUB_MODEL_IDLE_MINUTES, so a model used once in the morning
does not hold the GPU all day. Pinned models and models a running job holds stay
(model_cache.unload_idle)."""

import logging
import threading

from django.conf import settings

from genhub.worker import model_cache

log = logging.getLogger(__name__)


class IdleUnloader(threading.Thread):
    def __init__(self, idle_seconds: float) -> None:
        super().__init__(daemon=True, name="model-idle-unload")
        self.idle_seconds = idle_seconds
        self._stopped = threading.Event()

    def run(self) -> None:
        # Looking four times per idle period keeps a model at most a quarter of
        # the period past its time; never more often than ten times a second.
        every = max(0.1, min(60.0, self.idle_seconds / 4))
        while not self._stopped.wait(every):
            try:
                model_cache.unload_idle(self.idle_seconds)
            except Exception:
                log.exception("idle model unload failed; trying again")

    def stop(self) -> None:
        self._stopped.set()
        self.join()


def start() -> IdleUnloader | None:
    """Start unloading idle models in this process; None when the setting is 0."""
    idle_seconds = settings.GENHUB_MODEL_IDLE_MINUTES * 60
    if idle_seconds <= 0:
        return None
    unloader = IdleUnloader(idle_seconds)
    unloader.start()
    return unloader
