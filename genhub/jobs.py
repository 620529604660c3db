"""Every change of a job's status happens here, through `transition`.

Each action is one conditional UPDATE (`WHERE status IN (...)`), so of two
processes racing for the same change exactly one wins, with no lock and no
read-then-write window. The action that wins publishes the event.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from genhub import artifacts, cancel_flags, eta, events, fairness, modalities, quotas
from genhub.celery import DELIVER_WEBHOOK_TASK, RUN_JOB_TASK, WEBHOOK_QUEUE
from genhub.celery import app as celery_app
from genhub.errors import InvalidInput
from genhub.log_context import bind_job
from genhub.metrics import events as job_metrics
from genhub.models import AIModel, Job, JobKind, JobStatus, Worker
from genhub.models.job import ALLOWED_TRANSITIONS, TERMINAL_STATUSES
from genhub.waiting import add_waiting_notes

log = logging.getLogger(__name__)


class JobConflict(Exception):
    """The job is not in a state that allows the action."""


class QueueUnavailable(Exception):
    """The broker could not be reached; the job was failed, not left queued."""


class NoWorkerForQueue(Exception):
    """No live worker serves the queue a job would go to; nothing was stored."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        super().__init__(
            f"No worker is serving the queue '{queue}' right now, so the job was not "
            "accepted. Try again in a minute; if it persists, ask an admin to start one "
            f"(celery -A genhub worker -Q {queue})."
        )


def transition(
    job: Job, to: str, *, expect: Iterable[str], where: Q | None = None, **fields: Any
) -> Job | None:
    """Move `job` to status `to` if it is still in one of `expect`.

    Returns the updated job, or None when another process got there first.
    """
    expect = frozenset(expect)
    for source in expect:
        if to not in ALLOWED_TRANSITIONS.get(source, ()):
            raise ValueError(f"a job cannot go from {source} to {to}")
    rows = Job.objects.filter(pk=job.pk, status__in=expect)
    if where is not None:
        rows = rows.filter(where)
    if not rows.update(status=to, **fields):
        return None
    moved = Job.objects.select_related("model", "owner").get(pk=job.pk)
    job_metrics.job_moved(moved, to, expect)  # counted once, by the process that moved it
    if to in TERMINAL_STATUSES and moved.callback_url:
        # Every end of a job passes here, once: the one place to announce it.
        transaction.on_commit(lambda: send_webhook(moved))
    return moved


# --- submit -----------------------------------------------------------------


def resolve_model(modality: str, name: str | None) -> AIModel:
    """The model a request asked for, or the modality's default."""
    if name is not None and not isinstance(name, str):
        raise InvalidInput("model", "Give the model's name as a string.")
    if name is not None and any("\ud800" <= char <= "\udfff" for char in name):
        raise InvalidInput(
            "model", "The model name holds a lone UTF-16 surrogate; send valid Unicode."
        )
    if name is not None and "\x00" in name:
        # PostgreSQL cannot compare text holding NUL: a DataError, a 500, otherwise.
        raise InvalidInput("model", "The model name contains a NUL character (\\u0000).")
    models = AIModel.objects.filter(modality=modality)
    if name is None:
        model = models.enabled().filter(is_default=True).first()
        if model is None:
            raise InvalidInput(
                "model",
                f"No default {modality} model is set. Name one of: {_names(models)}, "
                "or ask an admin to run `manage.py bootstrap_models`.",
            )
    else:
        model = models.filter(name=name).first()
        if model is None:
            raise InvalidInput(
                "model", f"Unknown {modality} model '{name}'. Available: {_names(models)}."
            )
        if not model.enabled:
            raise InvalidInput("model", f"Model '{name}' is disabled. Available: {_names(models)}.")
    # A row written around the admin's checks: refuse its jobs up front, with the
    # reason, rather than let its defaults break validation or fail every job.
    if problems := model.config_problems():
        raise InvalidInput(
            "model",
            f"Model '{model.name}' is misconfigured ({' '.join(problems.values())}) "
            "Ask an admin to fix it, or name another model.",
        )
    return model


def _names(models: Any) -> str:
    names = list(models.enabled().values_list("name", flat=True))
    return ", ".join(names) if names else "(none enabled)"


def submit_job(
    owner: Any,
    modality: str,
    model_name: str | None,
    params: dict[str, Any],
    *,
    callback_url: str = "",
) -> Job:
    """Validate, record and enqueue a job; `callback_url` is already checked
    (genhub.webhooks.check_callback_url). Raises InvalidInput or pydantic's
    ValidationError for bad input, NoWorkerForQueue when no live worker serves the
    model's queue, QuotaExceeded when the owner is over a limit (genhub/quotas.py),
    QueueUnavailable when Redis is down."""
    model = resolve_model(modality, model_name)
    schema = modalities.get(modality).params_schema
    # Request params override the model's defaults; the result is validated again
    # so a default can never smuggle in an out-of-bounds value.
    validated = schema.model_validate(
        {**model.default_params, **params}, context={"owner": owner, "limits": model.options}
    )
    stored = validated.model_dump(mode="json")
    uploads = validated.uploads()
    _check_served(model.job_queue)
    with transaction.atomic():
        # In the transaction: it locks the owner's row until this job is stored.
        quotas.check_quotas(owner, modality)
        job = Job.objects.create(
            owner=owner,
            modality=modality,
            model=model,
            prompt=validated.display_prompt(),
            # Never the uploaded bytes themselves: the artifact ids replace them below.
            params={**stored, **dict.fromkeys(uploads)},
            enqueued_at=timezone.now(),
            callback_url=callback_url,
        )
        bind_job(job.id)  # the rest of this request logs with the job's id
        if uploads:
            # Files sent with the request are kept with the job, and its params
            # name them instead of carrying megabytes of base64.
            for field, upload in uploads.items():
                stored[field] = f"artifact:{artifacts.store_input_file(job, field, upload).pk}"
            job.params = stored
            job.save(update_fields=["params"])
        transaction.on_commit(lambda: enqueue(job))
    job_metrics.job_submitted(job)
    return job


def submit_download(owner: Any, model: AIModel) -> Job:
    """Record and enqueue a job that downloads `model` (a hub model) into the
    model store. It runs on the model's queue, like its generation jobs, so the
    worker that will load the model is the one that fetches it. Raises
    InvalidInput for a model that is not on the hub, NoWorkerForQueue and
    QueueUnavailable as submit_job does."""
    if model.source_type != AIModel.SourceType.HUB:
        raise InvalidInput(
            "model", f"Model '{model.name}' is not a hub model; its weights are already local."
        )
    _check_served(model.job_queue)
    with transaction.atomic():
        job = Job.objects.create(
            owner=owner,
            kind=JobKind.DOWNLOAD,
            modality=model.modality,
            model=model,
            prompt=f"Download {model.name}",
            params={},  # a download has no generation params to validate
            enqueued_at=timezone.now(),
        )
        transaction.on_commit(lambda: enqueue(job))
    return job


def _check_served(queue: str) -> None:
    """Refuse a job that nothing would run, rather than let it wait unseen."""
    if settings.GENHUB_ACCEPT_WITHOUT_WORKERS:
        return  # workers scaled from zero start when jobs wait
    if not Worker.objects.live().serving(queue).exists():
        raise NoWorkerForQueue(queue)


def enqueue(job: Job) -> None:
    """Send the job's id to its queue, or fail the job when the broker cannot be
    reached (QueueUnavailable). Call only after commit."""
    try:
        send_to_queue(job)
    except Exception as exc:
        log.exception("could not enqueue job %s", job.id)
        fail_job(
            job,
            "The job queue (Redis) could not be reached, so this job was not queued. "
            "Try again in a moment; if it persists, ask an admin to check Redis.",
            expect=[JobStatus.QUEUED],
        )
        raise QueueUnavailable(str(exc)) from exc


def send_to_queue(job: Job) -> None:
    """Send the job's id to its model's queue; raises when the broker is away."""
    # By name: the web process never imports the worker's task module. The retry
    # policy (CELERY_TASK_PUBLISH_RETRY_POLICY) keeps an unreachable broker brief.
    celery_app.send_task(RUN_JOB_TASK, args=[str(job.id)], queue=job.model.job_queue)


def send_webhook(job: Job) -> None:
    """Queue the POST of the ended `job` to its callback_url. A broker that is
    away loses the webhook, not the job's end: logged, not raised."""
    try:
        celery_app.send_task(DELIVER_WEBHOOK_TASK, args=[str(job.id)], queue=WEBHOOK_QUEUE)
    except Exception:
        log.exception("could not queue the webhook of job %s", job.id)


# --- run --------------------------------------------------------------------


# Each lost race is another worker's claim; this many in a row is a crowd.
_CLAIM_TRIES = 20


def claim_job(job_id: str, worker: str) -> Job | None:
    """Take, for this worker, the job that the fair-queue policy puts first in
    the queue of job `job_id` (genhub/fairness.py): a message stands for one
    run on its queue, not for its own job. Returns None when nothing is queued
    there (a duplicate message, or one whose job was cancelled).

    Every queued job has a message of its own and each message runs at most one
    job, so every job runs. A lost race means another worker claimed a job with
    its own message; we take the next in turn.
    """
    of_job = Job.objects.with_queue_name().filter(pk=job_id)
    name = of_job.values_list("queue_name", flat=True).first()  # type: ignore[misc]  # an annotation
    if name is None:
        return None
    for _ in range(_CLAIM_TRIES):
        chosen = fairness.next_job(name)
        if chosen is None:
            return None
        claimed = claim_queued_job(chosen, worker)
        if claimed is not None:
            return claimed
    # Lost every race: hand the message back, so no queued job is left without one.
    log.warning("queue %s: no claim after %d tries; message sent again", name, _CLAIM_TRIES)
    celery_app.send_task(RUN_JOB_TASK, args=[job_id], queue=name)
    return None


def claim_queued_job(job_id: Any, worker: str) -> Job | None:
    """Take this queued job for this worker, or None when it is no longer queued.
    `claim_job` takes the fair-first job with it; a worker that batches takes
    the first's compatible followers with it too (genhub/worker/batches.py)."""
    now = timezone.now()
    return transition(
        Job(pk=job_id),
        JobStatus.RUNNING,
        expect=[JobStatus.QUEUED],
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        attempts=F("attempts") + 1,
    )


def still_ours(job: Job) -> Q:
    """Matches the row only while it is still the attempt `job` was claimed for."""
    return Q(worker=job.worker, attempts=job.attempts)


def succeed_job(job: Job, result: dict[str, Any], metrics: dict[str, Any]) -> Job | None:
    done = transition(
        job,
        JobStatus.SUCCEEDED,
        expect=[JobStatus.RUNNING],
        where=still_ours(job),
        result=result,
        metrics=metrics,
        progress=1.0,
        finished_at=timezone.now(),
    )
    if done is None:
        log.warning("job %s finished but is no longer ours; result dropped", job.id)
        return None
    events.publish(done, "succeeded", result=result, metrics=metrics)
    return done


def fail_job(
    job: Job,
    error: str,
    *,
    expect: Iterable[str] = (JobStatus.RUNNING,),
    where: Q | None = None,
    metrics: dict[str, Any] | None = None,
) -> Job | None:
    fields: dict[str, Any] = {"error": error, "finished_at": timezone.now()}
    if metrics is not None:
        fields["metrics"] = metrics
    failed = transition(job, JobStatus.FAILED, expect=expect, where=where, **fields)
    if failed is not None:
        events.publish(failed, "failed", error=error)
    return failed


def stop_cancelled_job(
    job: Job,
    partial_result: dict[str, Any] | None,
    metrics: dict[str, Any],
    *,
    where: Q | None = None,
) -> Job | None:
    """The runner noticed the cancel flag and stopped (or its worker died after
    the cancel was asked for); keep what it made."""
    stopped = transition(
        job,
        JobStatus.CANCELLED,
        expect=[JobStatus.RUNNING],
        where=where if where is not None else still_ours(job),
        result=partial_result,
        metrics=metrics,
        finished_at=timezone.now(),
    )
    if stopped is not None:
        events.publish(stopped, "cancelled", result=partial_result)
    return stopped


# --- cancel -----------------------------------------------------------------


def cancel_job(job: Job) -> Job:
    """Cancel a queued job at once, or ask a running one to stop.

    A running job stops within one token or step and then ends `cancelled`.
    Raises JobConflict for a job that has already ended.
    """
    for _ in range(3):  # the job may start running between our read and write
        if job.status == JobStatus.QUEUED:
            cancelled = transition(
                job,
                JobStatus.CANCELLED,
                expect=[JobStatus.QUEUED],
                cancel_requested=True,
                finished_at=timezone.now(),
            )
            if cancelled is not None:
                events.publish(cancelled, "cancelled", result=None)
                return cancelled
        elif job.status == JobStatus.RUNNING:
            if Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                cancel_requested=True
            ):
                try:
                    cancel_flags.raise_flag(job.pk)
                except Exception:
                    # The worker's heartbeat still reads cancel_requested from the row.
                    log.exception("could not signal cancel of job %s through Redis", job.pk)
                return Job.objects.select_related("model", "owner").get(pk=job.pk)
        else:
            raise JobConflict(f"The job has already {job.status}; there is nothing to cancel.")
        job = Job.objects.select_related("model", "owner").get(pk=job.pk)
    raise JobConflict("The job changed state while being cancelled; try again.")


# --- recovery -----------------------------------------------------------------


def recover_stale_jobs() -> int:
    """Put back in the queue, or fail, running jobs whose worker stopped beating.

    Safe to run from every worker at once: each move is conditional on the
    heartbeat the sweep saw, so only one sweeper acts on a job.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.GENHUB_JOB_STALE_SECONDS)
    stale = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
    recovered = 0
    for job in stale.select_related("model", "owner"):
        same_beat = Q(heartbeat_at=job.heartbeat_at)
        if job.cancel_requested:  # its owner asked it to stop; do not run it again
            if stop_cancelled_job(job, job.result, job.metrics, where=same_beat) is not None:
                recovered += 1
            continue
        if job.attempts < settings.GENHUB_JOB_MAX_ATTEMPTS:
            requeued = transition(
                job,
                JobStatus.QUEUED,
                expect=[JobStatus.RUNNING],
                where=same_beat,
                worker="",
                progress=0.0,
                enqueued_at=timezone.now(),
            )
            if requeued is None:
                continue
            log.warning("job %s lost its worker (%s); requeued", job.id, job.worker)
            # Clients drop the text of the dead attempt: the next one starts over.
            add_waiting_notes([requeued])  # its place and ETA, back in the queue
            events.publish(
                requeued,
                "requeued",
                reset_text=True,
                attempts=requeued.attempts,
                queue_position=requeued.queue_position(),
                **eta.fields(requeued),
            )
            events.drain()  # recorded before a new attempt can publish `started`
            try:
                send_to_queue(requeued)
            except Exception:
                # It stays queued, not failed: the sweep sends it again once Redis
                # answers (genhub/worker/broker_marker.py) or the resend timer fires.
                log.warning("job %s requeued, but Redis is unreachable to send it", job.id)
        else:
            failed = fail_job(
                job,
                f"The worker running this job stopped unexpectedly, {job.attempts} times "
                "in a row, so it was not retried again. The usual cause is running out of "
                "memory: try a smaller request (fewer tokens, a smaller size or a shorter "
                "clip), or ask an admin to check the worker logs.",
                where=same_beat,
            )
            if failed is None:
                continue
        recovered += 1
    return recovered


def resend_waiting_jobs() -> int:
    """Send again the ids of jobs that have waited in the queue for a long time.

    The broker can lose messages (a Redis restarted without persistence); the
    database still says `queued`, so nothing the user submitted is lost, but
    nothing would run it. A second message for a job still in the queue is
    harmless: whichever arrives first claims it, the other finds it running.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.GENHUB_JOB_RESEND_SECONDS)
    resent = 0
    waiting = Job.objects.filter(status=JobStatus.QUEUED, enqueued_at__lt=cutoff)
    for job in waiting.select_related("model"):
        touched = Job.objects.filter(
            pk=job.pk, status=JobStatus.QUEUED, enqueued_at=job.enqueued_at
        ).update(enqueued_at=timezone.now())
        if touched:
            send_to_queue(job)  # raises while Redis is away: the job stays queued
            resent += 1
    return resent


def resend_queued_jobs() -> int:
    """Send again the id of every queued job, oldest first, so the new queue keeps
    the old order. For a broker that lost its messages (Redis came back without
    its data; see genhub/worker/broker_marker.py), so nothing waits for the
    resend timer. A job whose message survived gets a second one, which is
    harmless: the first to arrive claims it, the other finds it running.

    Raises when the broker is away again; the job stays queued, not failed.
    """
    waiting = Job.objects.filter(status=JobStatus.QUEUED).select_related("model")
    resent = 0
    for job in waiting.order_by("enqueued_at", "created_at"):
        send_to_queue(job)
        resent += 1
    return resent
