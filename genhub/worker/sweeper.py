"""A worker bootstep that looks for jobs whose worker died, and for queued jobs
whose message the broker may have lost, every few seconds.

Every worker runs it; the conditional updates in `recover_stale_jobs` make a
second sweeper a no-op. It runs in the worker's main process, which survives
when a pool process is killed mid-job.
"""

import logging
from typing import Any

from celery import bootsteps
from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)


def sweep() -> None:
    from genhub.jobs import recover_stale_jobs, resend_waiting_jobs

    close_old_connections()
    try:
        recovered = recover_stale_jobs()
        if recovered:
            log.warning("recovered %d job(s) whose worker stopped", recovered)
        resent = resend_waiting_jobs()
        if resent:
            log.warning("sent %d long-waiting job(s) to the queue again", resent)
    except Exception:
        log.exception("job sweep failed")


class StaleJobSweeper(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.timer_ref: Any = None

    def start(self, worker: Any) -> None:
        self.timer_ref = worker.timer.call_repeatedly(settings.GENHUB_SWEEP_SECONDS, sweep)

    def stop(self, worker: Any) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
