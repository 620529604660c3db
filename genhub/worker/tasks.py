"""The one Celery task. It receives a job id and hands it on; it holds no logic.

Celery imports this module when a worker starts (autodiscovery, see
genhub/celery.py), before it builds the worker's bootsteps: that is where the
stale-job sweep joins the worker and the pool processes learn to warm up.
Time limits, acks_late and reject_on_worker_lost come from settings (CELERY_*).
"""

import os

from celery import Task, shared_task

from genhub.celery import RUN_JOB_TASK, app
from genhub.worker import identity, reporting, warmup  # noqa: F401  (connect their worker signals)
from genhub.worker.execution import execute_job
from genhub.worker.sweeper import StaleJobSweeper

app.steps["worker"].add(StaleJobSweeper)


@shared_task(name=RUN_JOB_TASK, bind=True)
def run_job(self: Task, job_id: str) -> None:
    execute_job(job_id, worker=f"{self.request.hostname}/{os.getpid()}")
