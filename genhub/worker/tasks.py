"""The Celery tasks. Each receives a job id and hands it on.

Celery imports this module when a worker starts (autodiscovery, see
genhub/celery.py), before it builds the worker's bootsteps: that is where the
stale-job sweep joins the worker and the pool processes learn to warm up.
Time limits, acks_late and reject_on_worker_lost come from settings (CELERY_*).
"""

import logging
import os
import threading

from celery import Task, shared_task
from django.conf import settings
from django.db import connection

from genhub import webhooks
from genhub.celery import DELIVER_WEBHOOK_TASK, RUN_JOB_TASK, app
from genhub.worker import (  # noqa: F401  (connect their worker signals)
    identity,
    metrics_server,
    reporting,
    warmup,
)
from genhub.worker.execution import execute_job
from genhub.worker.sweeper import StaleJobSweeper

app.steps["worker"].add(StaleJobSweeper)


def _without_connection_pool() -> None:
    """Workers hold one connection per job thread for the job's length, and a
    prefork child that inherited a pool would share its parent's sockets: the
    pool is for the web process only, even when GENHUB_DB_POOL leaked into a
    worker's environment (genhub/settings.py)."""
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if options.get("pool"):
        connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's wrapper has it
        del options["pool"]


_without_connection_pool()

log = logging.getLogger(__name__)


@shared_task(name=RUN_JOB_TASK, bind=True)
def run_job(self: Task, job_id: str) -> None:
    execute_job(job_id, worker=_worker_name(self.request.hostname))


def _worker_name(hostname: str) -> str:
    """Who runs the job, as its row records it: the node and process, and in a
    threads pool the thread too, since one process runs many jobs at once."""
    me = identity.current()
    if me is not None and me.pool == "threads":
        return f"{hostname}/{os.getpid()}/{threading.get_native_id()}"
    return f"{hostname}/{os.getpid()}"


@shared_task(name=DELIVER_WEBHOOK_TASK, bind=True, max_retries=webhooks.MAX_TRIES - 1)
def deliver_webhook(self: Task, job_id: str) -> None:
    try:
        webhooks.deliver(job_id)
    except webhooks.TargetRefused as refused:
        log.warning("webhook for job %s not sent: %s", job_id, refused)
    except webhooks.DeliveryFailed as failed:
        tries = self.request.retries + 1
        if tries >= webhooks.MAX_TRIES:
            log.warning("webhook for job %s: gave up after %d tries: %s", job_id, tries, failed)
            return
        log.info("webhook for job %s: try %d failed (%s); retrying", job_id, tries, failed)
        raise self.retry(countdown=webhooks.retry_delay(self.request.retries)) from failed
