"""The one Celery task. It receives a job id and hands it on; it holds no logic.

Time limits, acks_late and reject_on_worker_lost come from settings (CELERY_*).
"""

import os

from celery import Task, shared_task


@shared_task(name="genhub.run_job", bind=True)
def run_job(self: Task, job_id: str) -> None:
    from genhub.execution import execute_job

    execute_job(job_id, worker=f"{self.request.hostname}/{os.getpid()}")
