"""GET /jobs, GET /jobs/{id}, POST /jobs/{id}/cancel, DELETE /jobs/{id} and
POST /jobs/delete (many at once): deleting takes a job's files along, and only
a job that has ended is deleted (genhub/job_deletion.py)."""

from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.renderers import JSONRenderer
from pydantic import ConfigDict

from genhub.api.auth import caller
from genhub.api.schemas import ErrorOut, JobOut, JobPage, QueryText, job_out
from genhub.job_deletion import MAX_IDS, STILL_ACTIVE, delete_jobs
from genhub.job_reads import artifacts_by_job, visible_job
from genhub.jobs import cancel_job
from genhub.models import Job, JobStatus
from genhub.waiting import add_waiting_notes

router = Router(tags=["jobs"])

# What ninja renders every answer of the API with (genhub/api/root.py sets no other).
_JSON = JSONRenderer()


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
    return Job.objects.visible_to(caller(request)).select_related("model")


def _answer(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """`data` rendered as ninja renders an answer, but not validated against the
    route's schema again: for the reads clients make most, that check costs a
    tenth of a status read and a quarter of a page of jobs. job_out is the one
    builder of a job's answer, and the tests hold both answers to their schemas
    (test_web_tier_costs.py, the schemathesis run)."""
    body = _JSON.render(request, data, response_status=200)
    return HttpResponse(body, content_type=f"{_JSON.media_type}; charset={_JSON.charset}")


@router.get("", response=JobPage, url_name="job_list")
def list_jobs(request: HttpRequest, filters: Query[JobFilters]) -> HttpResponse:
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
    artifacts = artifacts_by_job([job.pk for job in items])  # one statement for the page
    next_url = None
    if start + filters.page_size < count:
        query = request.GET.copy()
        query["page"] = str(filters.page + 1)
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    page = {
        "items": [job_out(job, request, artifacts[job.pk]) for job in items],
        "count": count,
        "page": filters.page,
        "page_size": filters.page_size,
        "next": next_url,
    }
    return _answer(request, page)


class DeleteJobsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] = Field(..., min_length=1, max_length=MAX_IDS, description="Job ids.")


class ActiveJobOut(Schema):
    id: str
    status: str
    detail: str


class DeleteJobsOut(Schema):
    deleted: int
    deleted_ids: list[str]
    active: list[ActiveJobOut] = Field(
        description="Queued or running, so not deleted: cancel them first."
    )
    not_found: list[str] = Field(description="No such job of the caller's (or already deleted).")


# Before /{job_id}, which would otherwise take "delete" for an id.
@router.post("/delete", response={200: DeleteJobsOut, 422: ErrorOut}, url_name="jobs_delete")
def delete_many(request: HttpRequest, body: DeleteJobsIn) -> dict[str, Any]:
    """Delete many of the caller's jobs at once; what could not be deleted is
    listed, by why."""
    outcome = delete_jobs(caller(request), body.ids)
    return {
        "deleted": len(outcome.deleted),
        "deleted_ids": outcome.deleted,
        "active": [
            {"id": job_id, "status": status, "detail": STILL_ACTIVE.format(status=status)}
            for job_id, status in outcome.active.items()
        ],
        "not_found": outcome.missing,
    }


@router.get("/{job_id}", response={200: JobOut, 404: ErrorOut}, url_name="job_detail")
def get_job(request: HttpRequest, job_id: UUID) -> HttpResponse:
    # The request clients make most: read by hand (genhub/job_reads.py).
    found = visible_job(caller(request), job_id)
    if found is None:
        raise Http404("No such job.")
    job, artifacts = found
    return _answer(request, job_out(job, request, artifacts))


@router.post(
    "/{job_id}/cancel", response={202: JobOut, 404: ErrorOut, 409: ErrorOut}, url_name="job_cancel"
)
def cancel(request: HttpRequest, job_id: UUID) -> tuple[int, dict[str, Any]]:
    job = cancel_job(get_object_or_404(_visible_jobs(request), pk=job_id))
    return 202, job_out(job, request)


@router.delete(
    "/{job_id}", response={204: None, 404: ErrorOut, 409: ErrorOut}, url_name="job_delete"
)
def delete_job(request: HttpRequest, job_id: UUID) -> tuple[int, Any]:
    """Delete one of the caller's own jobs and its files. A queued or running job
    is refused with 409: cancel it first. Operators delete other users' jobs in
    the admin, not here."""
    outcome = delete_jobs(caller(request), [job_id])
    if outcome.missing:
        raise Http404("No such job.")
    for status in outcome.active.values():
        return 409, {"detail": STILL_ACTIVE.format(status=status)}
    return 204, None
