"""How a request's jobs end, as OpenAI answers: waiting for them (bounded),
the error a failed or cancelled job answers with, and taking jobs back."""

import asyncio

from django.conf import settings

from genhub.api.openai.errors import OpenAIError
from genhub.api.openai.follow import JobView, follow_jobs
from genhub.jobs import JobConflict, cancel_job
from genhub.models import Job, JobStatus
from genhub.outages import REDIS_ERRORS

JOB_HEADER = "X-GenHub-Job"  # the request's jobs, comma-separated, on every answer

# How long a request waits for its jobs beyond a job's own time limit: time in
# the queue. A job still unfinished by then is left to run, and the answer says where.
QUEUE_ALLOWANCE_SECONDS = 600


def cancel_jobs(jobs: list[Job]) -> None:
    for job in jobs:
        try:
            cancel_job(Job.objects.get(pk=job.pk))
        except (JobConflict, Job.DoesNotExist):
            pass  # it ended meanwhile


def outcome_error(view: JobView) -> OpenAIError | None:
    """The error a failed or cancelled job answers with; None for a success."""
    if view.status == JobStatus.FAILED:
        message = view.error or "The generation job failed."
        return OpenAIError(
            500,
            f"{message} (job {view.id})",
            type="server_error",
            code="job_failed",
            retry=False,
            headers={JOB_HEADER: view.id},
        )
    if view.status == JobStatus.CANCELLED:
        return OpenAIError(
            409,
            f"The generation job {view.id} was cancelled before it finished.",
            type="conflict_error",
            code="job_cancelled",
            retry=False,
            headers={JOB_HEADER: view.id},
        )
    return None


async def wait(job_ids: list[str]) -> list[JobView]:
    """Every job's end, in order: within the job time limit plus the queue allowance."""
    views: dict[str, JobView] = {}
    limit = settings.GENHUB_JOB_TIME_LIMIT + QUEUE_ALLOWANCE_SECONDS
    try:
        async with asyncio.timeout(limit):
            async for changed in follow_jobs(job_ids):
                views.update((view.id, view) for view in changed)
    except TimeoutError:
        raise OpenAIError(
            504,
            f"The job(s) {', '.join(job_ids)} did not finish within {limit} s; they go on, "
            "and GET /api/v1/jobs/{id} shows their result.",
            type="server_error",
            code="timeout",
            retry=False,
            headers={JOB_HEADER: ", ".join(job_ids)},
        ) from None
    except REDIS_ERRORS:
        raise OpenAIError(
            503,
            "Redis went away while waiting for the job; GET /api/v1/jobs/{id} shows its result.",
            type="server_error",
            retry_after=5,
        ) from None
    return [views[job_id] for job_id in job_ids]
