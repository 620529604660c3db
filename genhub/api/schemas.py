"""How jobs and models look from outside (REST bodies and WebSocket snapshots)."""

from datetime import datetime
from functools import cache
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_script_prefix, reverse
from ninja import Schema
from pydantic import AfterValidator, BaseModel

from genhub.artifacts import links as artifact_links
from genhub.eta import seconds_left, seconds_to_start
from genhub.models import AIModel, Artifact, Job, Worker
from genhub.waiting import add_waiting_notes


class JobLinks(Schema):
    self: str
    cancel: str
    events: str


class ArtifactOut(Schema):
    id: str
    role: str  # "output", or "input" for a file that came with the request
    field: str
    index: int
    mime_type: str
    url: str
    thumbnail_url: str | None
    bytes: int
    width: int | None
    height: int | None
    duration_seconds: float | None
    sample_rate: int | None
    channels: int | None
    seed: int | None
    record: dict[str, Any]


class JobOut(Schema):
    id: str
    modality: str
    model: str
    status: str
    progress: float
    prompt: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str
    metrics: dict[str, Any]
    cancel_requested: bool
    queue_position: int | None  # 1 = next to run; None when not queued
    waiting: str | None  # why a queued job waits: its place and its queue's workers
    eta: datetime | None  # when a queued or running job should be done (genhub/eta.py)
    eta_seconds: int | None  # seconds until `eta`
    eta_start_seconds: int | None  # seconds until a queued job should start
    eta_basis: str | None  # what the estimate rests on, or why there is none
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    artifacts: list[ArtifactOut]
    links: JobLinks


class JobPage(Schema):
    items: list[JobOut]
    count: int
    page: int
    page_size: int
    next: str | None


class ModelOut(Schema):
    name: str
    modality: str
    is_default: bool
    source_type: str
    source: str | None  # shown to staff only: it can be a path on the server
    revision: str
    default_params: dict[str, Any]
    description: str
    downloaded: bool  # on the server's disk; if not, its first job downloads it


class LoadedModelOut(Schema):
    name: str
    bytes: int


class WorkerJobOut(Schema):
    id: str
    modality: str


class WorkerOut(Schema):
    node: str
    hostname: str
    pid: int
    state: str  # "idle", "busy" (see job) or "gone" (stopped, or not seen lately)
    queues: list[str]
    pool: str
    concurrency: int
    device: str  # "" until the worker has said
    memory_total: int | None  # bytes of device memory
    memory_free: int | None
    loaded_models: list[LoadedModelOut]
    job: WorkerJobOut | None
    version: str
    started_at: datetime
    last_seen_at: datetime
    stopped_at: datetime | None


class ErrorOut(Schema):
    detail: Any


def _no_nul(text: str) -> str:
    if "\x00" in text:
        # PostgreSQL cannot compare text holding NUL; a 422 naming the parameter,
        # not a DataError's 500.
        raise ValueError("the text contains a NUL character (\\u0000)")
    return text


# A query parameter the database compares with a text column (a filter).
QueryText = Annotated[str, AfterValidator(_no_nul)]


def absolute_url(path: str, request: HttpRequest | None) -> str:
    """`path` as a full URL: from the request, or without one (a webhook) from
    GENHUB_PUBLIC_URL, or left relative when that is not set."""
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.GENHUB_PUBLIC_URL + path


def job_links(job: Job, request: HttpRequest | None) -> dict[str, str]:
    events = f"/ws/jobs/{job.id}/"
    if request is not None:
        ws_scheme = "wss" if request.is_secure() else "ws"
        events = f"{ws_scheme}://{request.get_host()}{events}"
    elif settings.GENHUB_PUBLIC_URL:
        # http://host -> ws://host, https://host -> wss://host
        events = "ws" + settings.GENHUB_PUBLIC_URL.removeprefix("http") + events
    # Every job of every read and page has links, and reverse() is a large part
    # of a job's answer: the routes are found once (a test holds them to reverse).
    detail = absolute_url(f"{get_script_prefix()}{_jobs_route()}/{job.id}", request)
    return {"self": detail, "cancel": f"{detail}/cancel", "events": events}


@cache
def _jobs_route() -> str:
    """The job list's path after the script prefix ("api/v1/jobs"). A job's own
    route is this and "/<id>", its cancel route that and "/cancel"
    (genhub/api/jobs.py)."""
    return reverse("api:job_list").removeprefix(get_script_prefix())


def job_out(
    job: Job, request: HttpRequest | None, artifacts: list[Artifact] | None = None
) -> dict[str, Any]:
    """A job as clients see it (`request` None: for a webhook), with `artifacts`
    when the caller read them already. For a page of jobs, call add_waiting_notes()
    on the page first: a few queries for all of them instead of some per active job."""
    if artifacts is None:
        artifacts = list(job.artifacts.all())
    if not job.is_terminal and not job.eta_basis:
        add_waiting_notes([job])
    return {
        "id": str(job.id),
        "modality": job.modality,
        "model": job.model.name,
        "status": job.status,
        "progress": job.progress,
        "prompt": job.prompt,
        "params": job.params,
        "result": job.result,
        "error": job.error,
        "metrics": job.metrics,
        "cancel_requested": job.cancel_requested,
        "queue_position": job.queue_position(),
        "waiting": job.waiting or None,
        "eta": job.eta,
        "eta_seconds": seconds_left(job),
        "eta_start_seconds": seconds_to_start(job),
        "eta_basis": job.eta_basis or None,
        "attempts": job.attempts,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "artifacts": [artifact_out(a, request) for a in artifacts],
        "links": job_links(job, request),
    }


def artifact_out(artifact: Artifact, request: HttpRequest | None = None) -> dict[str, Any]:
    def absolute(path: str | None) -> str | None:
        return absolute_url(path, request) if path else path

    links = artifact_links(artifact)
    return {
        "id": str(artifact.id),
        "role": artifact.role,
        "field": artifact.field,
        "index": artifact.index,
        "mime_type": artifact.mime_type,
        "url": absolute(links["url"]),
        "thumbnail_url": absolute(links["thumbnail_url"]),
        "bytes": artifact.bytes,
        "width": artifact.width,
        "height": artifact.height,
        "duration_seconds": artifact.duration_seconds,
        "sample_rate": artifact.sample_rate,
        "channels": artifact.channels,
        "seed": artifact.seed,
        "record": artifact.record,
    }


def model_out(model: AIModel, show_source: bool) -> dict[str, Any]:
    return {
        "name": model.name,
        "modality": model.modality,
        "is_default": model.is_default,
        "source_type": model.source_type,
        "source": model.source if show_source else None,
        "revision": model.revision,
        "default_params": model.usable_default_params,  # a bad row must not break the list
        "description": model.description,
        "downloaded": model.downloaded,
    }


def json_or_form_body(schema: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for an endpoint that takes `schema` as JSON or as a
    multipart form (parsed by genhub.request_bodies, not by ninja)."""
    described = schema.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": described},
                "multipart/form-data": {"schema": described},
            },
        }
    }


def worker_out(worker: Worker) -> dict[str, Any]:
    job = worker.job
    return {
        "node": worker.node,
        "hostname": worker.hostname,
        "pid": worker.pid,
        "state": worker.state,
        "queues": worker.queue_names,
        "pool": worker.pool,
        "concurrency": worker.concurrency,
        "device": worker.device,
        "memory_total": worker.memory_total,
        "memory_free": worker.memory_free,
        "loaded_models": worker.loaded_models,
        "job": {"id": str(job.id), "modality": job.modality} if job else None,
        "version": worker.version,
        "started_at": worker.started_at,
        "last_seen_at": worker.last_seen_at,
        "stopped_at": worker.stopped_at,
    }
