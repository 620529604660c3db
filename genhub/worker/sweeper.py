"""A worker bootstep that looks for jobs whose worker died, and for queued jobs
whose message the broker may have lost, every few seconds.

Every worker runs it; the conditional updates in `recover_stale_jobs` make a
second sweeper a no-op. It runs in the worker's main process, which survives
when a pool process is killed mid-job.
"""

import logging
import time
from typing import Any

from celery import bootsteps
from django.conf import settings
from django.db import close_old_connections, connection

from genhub.outages import DATABASE_ERRORS, REDIS_ERRORS

log = logging.getLogger(__name__)


class DatabaseWatch:
    """Whether heartbeats can be trusted. While the database was unreachable no
    worker could beat, so right after it returns every running job looks stale,
    including one whose worker is alive and retrying its final save. The sweep
    judges heartbeats again only after a full stale period since it came back."""

    def __init__(self) -> None:
        self.away = False
        self.back_at = float("-inf")

    def lost(self) -> None:
        self.away = True

    def heartbeats_trustworthy(self) -> bool:
        if self.away:
            connection.ensure_connection()  # raises while it is still away
            self.away, self.back_at = False, time.monotonic()
            log.warning("the database answers again; stale jobs wait for fresh heartbeats")
        return time.monotonic() - self.back_at >= settings.GENHUB_JOB_STALE_SECONDS


_database = DatabaseWatch()


def sweep() -> None:
    from genhub.jobs import recover_stale_jobs, resend_waiting_jobs
    from genhub.worker.broker_marker import resend_if_forgotten

    close_old_connections()
    try:
        if _database.heartbeats_trustworthy():
            recovered = recover_stale_jobs()
            if recovered:
                log.warning("recovered %d job(s) whose worker stopped", recovered)
        resent = resend_if_forgotten()
        if resent:
            log.warning("Redis lost its queue; sent %d queued job(s) again", resent)
        resent = resend_waiting_jobs()
        if resent:
            log.warning("sent %d long-waiting job(s) to the queue again", resent)
    except DATABASE_ERRORS as error:
        _database.lost()
        log.warning("job sweep skipped: the database is unreachable (%s)", error)
    except REDIS_ERRORS as error:
        log.warning("job sweep skipped: Redis is unreachable (%s)", error)
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
