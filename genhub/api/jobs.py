"""GET /jobs, GET /jobs/{id}, POST /jobs/{id}/cancel."""

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from genhub.api.auth import caller
from genhub.api.schemas import ErrorOut, JobOut, JobPage, QueryText, job_out
from genhub.jobs import cancel_job
from genhub.models import Job, JobStatus
from genhub.waiting import add_waiting_notes

router = Router(tags=["jobs"])


class JobFilters(Schema):
    modality: QueryText | None = Field(
        None, description="A modality's name, as GET /models gives it."
    )
    status: JobStatus | None = None
    mine: bool = Field(
        False, description="Only the caller's own jobs (operators otherwise see everyone's)."
    )
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


def _visible_jobs(request: HttpRequest) -> Any:
    return (
        Job.objects.visible_to(caller(request))
        .select_related("model")
        .prefetch_related("artifacts")
    )


@router.get("", response=JobPage, url_name="job_list")
def list_jobs(request: HttpRequest, filters: Query[JobFilters]) -> dict[str, Any]:
    jobs = _visible_jobs(request)
    if filters.modality:
        jobs = jobs.filter(modality=filters.modality)
    if filters.status:
        jobs = jobs.filter(status=filters.status)
    if filters.mine:
        jobs = jobs.filter(owner=caller(request))
    count = jobs.count()
    start = (filters.page - 1) * filters.page_size
    items = list(jobs[start : start + filters.page_size])
    add_waiting_notes(items)
    next_url = None
    if start + filters.page_size < count:
        query = request.GET.copy()
        query["page"] = str(filters.page + 1)
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return {
        "items": [job_out(job, request) for job in items],
        "count": count,
        "page": filters.page,
        "page_size": filters.page_size,
        "next": next_url,
    }


@router.get("/{job_id}", response={200: JobOut, 404: ErrorOut}, url_name="job_detail")
def get_job(request: HttpRequest, job_id: UUID) -> dict[str, Any]:
    return job_out(get_object_or_404(_visible_jobs(request), pk=job_id), request)


@router.post(
    "/{job_id}/cancel", response={202: JobOut, 404: ErrorOut, 409: ErrorOut}, url_name="job_cancel"
)
def cancel(request: HttpRequest, job_id: UUID) -> tuple[int, dict[str, Any]]:
    job = cancel_job(get_object_or_404(_visible_jobs(request), pk=job_id))
    return 202, job_out(job, request)
