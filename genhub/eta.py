"""When a queued or running job will be done, from the real queue and the
model's recent runs; or, with no runs to go by, no number at all.

A model's rate is seconds per unit of work over its last GENHUB_ETA_RECENT_RUNS
succeeded jobs, where a modality's params schema says what a job's work is
(`GenerationParams.work`: tokens, steps over pixels, seconds of audio). A
running job ends at its start plus its expected duration, or, once it reports
progress, when its pace says. A queued job starts once the jobs ahead of it in
its queue's fair order (genhub/fairness.py) are done, shared among the live
workers serving that queue, and ends its own expected duration later.

For a page of jobs this costs five queries whatever its length: the active jobs
of the page's queues, their owners' standings (three, genhub.fairness), and the
recent runs of their models. The queued jobs' places come from the same reads.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from genhub import fairness, modalities
from genhub.models import Job, JobKind, JobStatus
from genhub.params import GenerationParams
from genhub.shared_reads import shared_read

RECENT_RUNS = "recent runs"
PROGRESS = "progress"
NO_RECENT_RUNS = "no recent runs"
NO_WORKER = "no worker serves its queue"
# Below this, a job's progress says little about its pace (a model still loading).
_TRUSTED_PROGRESS = 0.1


def add_etas(jobs: Sequence[Job], worker_queues: Sequence[set[str]]) -> None:
    """Set `queue_place` (queued jobs: their place in the fair order,
    genhub/fairness.py), `eta`, `eta_start` (queued jobs) and `eta_basis` on
    each queued or running job in `jobs`. `worker_queues`: the queues of each
    live worker, as genhub.waiting reads them."""
    active = [job for job in jobs if job.status in (JobStatus.QUEUED, JobStatus.RUNNING)]
    if not active:
        return
    now = timezone.now()
    queues = frozenset(job.model.job_queue for job in active if job.status == JobStatus.QUEUED)
    in_queues, orders, places = _kept_queue_order(queues, active)
    models = frozenset({job.model_id for job in active} | {r["model_id"] for r in in_queues})
    rates = shared_read(("run times", models), lambda: _seconds_per_work(set(models)))
    waits = _waits(in_queues, orders, rates, now)
    for job in active:
        expected = _expected(job.model_id, job.modality, job.kind, job.params, rates)
        if job.status == JobStatus.RUNNING:
            left = _remaining(job.progress, job.started_at, expected, now)
            job.eta = None if left is None else now + timedelta(seconds=left)
            job.eta_basis = _basis_running(job.progress, left)
            continue
        job.queue_place = places.get(job.id)
        ahead = waits.get(job.id)
        workers = sum(1 for served in worker_queues if job.model.job_queue in served)
        if expected is None or ahead is None:
            job.eta_basis = NO_RECENT_RUNS
        elif not workers:
            job.eta_basis = NO_WORKER
        else:
            job.eta_start = now + timedelta(seconds=ahead / workers)
            job.eta = job.eta_start + timedelta(seconds=expected)
            job.eta_basis = RECENT_RUNS


def _kept_queue_order(queues: frozenset[str], active: Sequence[Job]) -> tuple[Any, Any, Any]:
    """Every user's active jobs in `queues`, their order by queue (what the
    page's queued jobs wait behind) and each queued one's place. Shared by the
    process's status reads for a moment (genhub/shared_reads.py), unless a
    queued job of `active` is newer than the order kept: then read again."""
    for fresh in (False, True):
        in_queues, orders = shared_read(
            ("queue order", queues), lambda: _queue_order(queues), fresh=fresh
        )
        places = {r["id"]: place for order in orders.values() for place, r in enumerate(order, 1)}
        if all(job.status != JobStatus.QUEUED or job.id in places for job in active):
            break
    return in_queues, orders, places


def _queue_order(
    queues: frozenset[str],
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    in_queues = fairness.active_jobs(
        queues, "model_id", "modality", "kind", "params", "progress", "started_at"
    )
    return in_queues, fairness.queue_orders(in_queues)


def expected_seconds(job: Job) -> float | None:
    """How long a run of `job` should take, from its model's recent runs (one
    query); None when nothing says. A worker asks once, as the job starts."""
    rates = _seconds_per_work({job.model_id})
    return _expected(job.model_id, job.modality, job.kind, job.params, rates)


def running_fields(
    progress: float, started_at: datetime | None, expected: float | None
) -> dict[str, Any]:
    """A running job's ETA as events carry it, from its start, its progress and
    `expected_seconds`: no query, so every token's event can carry one."""
    now = timezone.now()
    left = _remaining(progress, started_at, expected, now)
    return {
        "eta": None if left is None else (now + timedelta(seconds=left)).isoformat(),
        "eta_seconds": None if left is None else round(left),
        "eta_basis": _basis_running(progress, left),
    }


def fields(job: Job) -> dict[str, Any]:
    """The ETA of a job that went through `add_etas`, as the WebSocket and
    events carry it."""
    return {
        "eta": job.eta.isoformat() if job.eta else None,
        "eta_seconds": seconds_left(job),
        "eta_start_seconds": seconds_to_start(job),
        "eta_basis": job.eta_basis or None,
    }


def seconds_left(job: Job) -> int | None:
    """Whole seconds until the job's ETA (0 once it is past); None without one."""
    if job.eta is None:
        return None
    return max(0, round((job.eta - timezone.now()).total_seconds()))


def seconds_to_start(job: Job) -> int | None:
    """Whole seconds until a queued job should start (0 once it is past); None
    without an estimate or once it runs."""
    if job.eta_start is None or job.status != JobStatus.QUEUED:
        return None
    return max(0, round((job.eta_start - timezone.now()).total_seconds()))


def _seconds_per_work(model_ids: set[Any]) -> dict[Any, float]:
    """Each model's seconds per unit of work over its recent succeeded jobs (one
    query per model: its last N through the (model, -finished_at) index, never
    its whole history, which grows with every user's jobs); models without runs
    are left out."""
    seconds: dict[Any, float] = defaultdict(float)
    work: dict[Any, float] = defaultdict(float)
    for model_id in model_ids:
        recent = (
            Job.objects.filter(
                model_id=model_id,
                status=JobStatus.SUCCEEDED,
                kind=JobKind.GENERATE,
                started_at__isnull=False,
                finished_at__isnull=False,
            )
            .order_by("-finished_at")
            .values_list("modality", "params", "started_at", "finished_at")[
                : settings.GENHUB_ETA_RECENT_RUNS
            ]
        )
        for modality, params, started, finished in recent:
            assert started is not None and finished is not None  # filtered above
            seconds[model_id] += (finished - started).total_seconds()
            work[model_id] += _work(modality, params)
    return {model_id: seconds[model_id] / work[model_id] for model_id in seconds if work[model_id]}


def _work(modality: str, params: dict[str, Any]) -> float:
    found = modalities.find(modality)
    schema = found.params_schema if found else GenerationParams
    return schema.work(params)


def _expected(
    model_id: Any, modality: str, kind: str, params: dict[str, Any], rates: dict[Any, float]
) -> float | None:
    """Seconds a run of this job should take; None when nothing says (no recent
    runs of its model, or a model download, whose time is the network's)."""
    if kind != JobKind.GENERATE or model_id not in rates:
        return None
    return rates[model_id] * _work(modality, params)


def _remaining(
    progress: float, started_at: datetime | None, expected: float | None, now: datetime
) -> float | None:
    """Seconds a running job has left: by its pace once it reports progress, else
    by its expected duration (never below zero: an overdue job ends any moment)."""
    elapsed = (now - started_at).total_seconds() if started_at else 0.0
    if progress >= _TRUSTED_PROGRESS and started_at is not None:
        return elapsed * (1 - progress) / progress
    if expected is None:
        return None
    return max(0.0, expected - elapsed)


def _basis_running(progress: float, left: float | None) -> str:
    if left is None:
        return NO_RECENT_RUNS
    return PROGRESS if progress >= _TRUSTED_PROGRESS else RECENT_RUNS


def _waits(
    rows: list[dict[str, Any]],
    orders: dict[str, list[dict[str, Any]]],
    rates: dict[Any, float],
    now: datetime,
) -> dict[Any, float | None]:
    """For each queued job in `orders` (each queue's jobs in the order they will
    start), the seconds of work ahead of it in its queue: what its running jobs
    have left and the expected runs of the jobs that start before it. None once
    any of those has no estimate."""
    ahead: dict[str, float | None] = defaultdict(float)
    for row in rows:
        if row["status"] != JobStatus.RUNNING:
            continue
        expected = _expected(row["model_id"], row["modality"], row["kind"], row["params"], rates)
        left = _remaining(row["progress"], row["started_at"], expected, now)
        ahead[row["queue_name"]] = _plus(ahead[row["queue_name"]], left)
    waits: dict[Any, float | None] = {}
    for queue, order in orders.items():
        for row in order:
            waits[row["id"]] = ahead[queue]
            expected = _expected(
                row["model_id"], row["modality"], row["kind"], row["params"], rates
            )
            ahead[queue] = _plus(ahead[queue], expected)
    return waits


def _plus(total: float | None, seconds: float | None) -> float | None:
    return None if total is None or seconds is None else total + seconds
