"""While a job runs, a thread in its worker touches the row every few seconds.

A job whose heartbeat stops (worker killed, machine gone) is found by
`jobs.recover_stale_jobs`. The beat also stores the progress so far and picks
up a cancel request recorded in the database.
"""

import logging
import threading
from types import TracebackType

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from genhub.jobs import still_ours
from genhub.models import Job, JobStatus
from genhub.outages import DATABASE_ERRORS
from genhub.worker.progress import JobProgress

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, progress: JobProgress) -> None:
        self.progress = progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="job-heartbeat")

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        job = self.progress.job
        try:
            while not self._stop.wait(settings.GENHUB_JOB_HEARTBEAT_SECONDS):
                try:
                    close_old_connections()
                    rows = Job.objects.filter(still_ours(job), pk=job.pk, status=JobStatus.RUNNING)
                    if not rows.update(heartbeat_at=timezone.now(), progress=job.progress):
                        # Ended, or the sweep gave the job to another attempt after
                        # missed beats: stop work on it and stop streaming into it.
                        self.progress.mark_lost()
                        return
                    if rows.filter(cancel_requested=True).exists():
                        self.progress.mark_cancel_requested()
                except DATABASE_ERRORS as error:
                    # A missed beat is not fatal; a database that stays away is
                    # what makes the job stale, which is the truth. One line per
                    # beat, not a traceback, while it is away.
                    log.warning("heartbeat for job %s missed: %s", job.pk, error)
                except Exception:
                    log.exception("heartbeat for job %s failed", job.pk)
        finally:
            connection.close()
