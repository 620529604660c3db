"""How a worker runs one job: claim it, run its modality's runner under a
heartbeat, and record the outcome. Every way out ends the job in a terminal
state with a sentence a person can act on. Jobs that can share one generation
call run as a batch (genhub/worker/batches.py), each with its own heartbeat,
cancel watch, events and outcome."""

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import pydantic
from billiard.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils.module_loading import import_string

from genhub import artifacts, eta, events, jobs, modalities
from genhub.error_messages import readable_errors
from genhub.errors import InvalidInput, JobCancelled, JobError, without_internals
from genhub.log_context import bind_job, logs_job
from genhub.metrics import events as job_metrics
from genhub.models import Job, JobKind
from genhub.outages import DATABASE_ERRORS
from genhub.worker import batches, downloads, model_cache, reporting
from genhub.worker.heartbeat import Heartbeat
from genhub.worker.progress import JobProgress

log = logging.getLogger(__name__)


@logs_job  # every line of the job's run carries its id
def execute_job(job_id: str, worker: str) -> None:
    """Run the job that is next in turn in `job_id`'s queue (genhub/fairness.py),
    which need not be `job_id` itself."""
    job = jobs.claim_job(job_id, worker)
    if job is None:
        log.info("nothing queued in the queue of job %s (its message was spare); skipped", job_id)
        return
    bind_job(job.id)  # the job next in turn, which need not be the message's
    try:
        followers = batches.gather_followers(job, worker)
    except DATABASE_ERRORS:
        # Any follower claimed before the error goes back to the queue with the sweep.
        log.exception("job %s: no batch; the database failed while claiming one", job.id)
        followers = []
    if followers:
        _execute_batch([job, *followers])
        return
    progress = _start(job)
    ours = jobs.still_ours(job)
    reporting.running(str(job.id))  # the worker's row shows it busy with this job
    try:
        _run_and_record(job, progress, ours)
    finally:
        events.drain()  # the outcome's event leaves before the task reports done
        reporting.idle(str(job.id))


def _start(job: Job) -> JobProgress:
    """The claimed job's progress, its `started` event sent."""
    progress = JobProgress(job, eta.expected_seconds(job))
    progress.started()
    if job.enqueued_at and job.started_at:
        progress.metrics["queue_seconds"] = (job.started_at - job.enqueued_at).total_seconds()
    return progress


def _execute_batch(batch: list[Job]) -> None:
    """Run claimed jobs in one call of their modality's batch runner. Each keeps
    its own heartbeat, cancel watch and outcome. When the call fails, which job
    caused it is unknown: each job still in it runs again alone, so only the one
    whose own run fails ends failed."""
    members = [batches.Member(job, _start(job)) for job in batch]
    for member in members:
        reporting.running(str(member.job.id))
    timed_out = False

    def work() -> list[Any]:
        nonlocal timed_out
        try:
            return _run_batch(members)
        except SoftTimeLimitExceeded:
            timed_out = True  # the hard limit follows: no time to run them again
            raise

    try:
        with ExitStack() as watches:
            for member in members:
                watches.enter_context(Heartbeat(member.progress))
                watches.enter_context(member.progress.watch_for_cancel())
            outcome, detail = _outcome(batch[0], work)
            staying = [member for member in members if not member.dropped]
            if outcome == "failed" and not timed_out and len(staying) > 1:
                log.warning(
                    "a batch of %d jobs failed (%s); running each alone", len(staying), detail
                )
            for index, member in enumerate(members):
                if member.dropped:
                    if not member.recorded:
                        _record(member.job, member.progress, "cancelled", None)
                elif outcome == "succeeded":
                    _record(member.job, member.progress, outcome, detail[index])
                elif not timed_out and len(staying) > 1:
                    _record(member.job, member.progress, *_run_alone(member))
                else:
                    _record(member.job, member.progress, outcome, detail)
    finally:
        events.drain()
        for member in members:
            reporting.idle(str(member.job.id))


def _run_alone(member: batches.Member) -> tuple[str, Any]:
    """A member of a failed batch, run again on its own (its heartbeat and cancel
    watch still on), from no outputs."""
    artifacts.discard_outputs(member.job, this_attempt_too=True)
    member.progress.metrics["batch_failed"] = True
    for name in ("batch_size", "batch_jobs", "batch_seconds"):
        member.progress.metrics.pop(name, None)
    return _run(member.job, member.progress)


def _run_batch(members: list[batches.Member]) -> list[Any]:
    """[result, or None for a member that left, per member]."""
    for member in members:
        if member.job.attempts > 1:  # a rerun after a worker loss starts with no results
            artifacts.discard_outputs(member.job)
    modality = modalities.get(members[0].job.modality)
    assert modality.batching is not None  # only such jobs are batched
    for member in members:
        member.params = stored_params(modality, member.job)
    run_batch = import_string(modality.batching.runner)
    results: list[Any] = run_batch(members)
    return results


def _run_and_record(job: Job, progress: JobProgress, ours: Q) -> None:
    with Heartbeat(progress), progress.watch_for_cancel():
        outcome, detail = _run(job, progress)
        _record(job, progress, outcome, detail, ours)


def _record(
    job: Job, progress: JobProgress, outcome: str, detail: Any, ours: Q | None = None
) -> None:
    """Save the outcome of a run: the result, the partial result of a cancelled
    run, or the failure's sentence."""
    ours = ours if ours is not None else jobs.still_ours(job)
    # Every event the run queued is recorded before the row says it ended.
    progress.settle()
    metrics = progress.metrics
    if outcome == "succeeded":
        try:
            saved = _save_outcome(job, lambda: jobs.succeed_job(job, detail, metrics))
            if saved is not None:
                job_metrics.output_made(saved, detail, metrics, progress.steps_done)
            if saved is not None and job.attempts > 1:
                artifacts.discard_outputs(job)
            return
        except DATABASE_ERRORS:
            raise  # still away after the retries; failing the job would need it too
        except Exception as error:
            log.exception("job %s: the result could not be saved", job.id)
            outcome, detail = (
                "failed",
                (
                    f"The job finished but its result could not be saved ({type(error).__name__}: "
                    f"{without_internals(str(error))}). This is a fault in GenHub; the worker log "
                    "has the details."
                ),
            )
    if outcome == "cancelled":
        _save_outcome(job, lambda: jobs.stop_cancelled_job(job, detail, metrics))
    elif outcome == "failed":
        _save_outcome(job, lambda: jobs.fail_job(job, detail, where=ours, metrics=metrics))


def _save_outcome(job: Job, save: Callable[[], Job | None]) -> Job | None:
    """Record the job's outcome, trying again with backoff while the database is
    unreachable, for up to GENHUB_JOB_SAVE_RETRY_SECONDS: the result is in memory,
    and losing it to a database restart would waste the whole run. The outcome's
    event is published only once the row is saved, after every earlier event, so
    waiting keeps the order. Meanwhile the heartbeat keeps the job ours.

    Giving up raises: the job then stays `running` until the sweep finds its
    heartbeat stale and runs it again, as after a worker loss.
    """
    deadline = time.monotonic() + settings.GENHUB_JOB_SAVE_RETRY_SECONDS
    delay = 0.5
    while True:
        try:
            return save()
        except DATABASE_ERRORS as error:
            if time.monotonic() + delay > deadline:
                log.error(
                    "job %s: the database stayed unreachable for %.0f s; its outcome is lost",
                    job.id,
                    settings.GENHUB_JOB_SAVE_RETRY_SECONDS,
                )
                raise
            log.warning(
                "job %s: the database is unreachable (%s); saving the outcome again in %.1f s",
                job.id,
                error,
                delay,
            )
            time.sleep(delay)
            close_old_connections()  # drops the broken connection; the next query opens one
            delay = min(delay * 2, 10.0)


def _run(job: Job, progress: JobProgress) -> tuple[str, Any]:
    """Run the modality's runner: ("succeeded", result), ("cancelled", partial
    result) or ("failed", a sentence for the job's owner)."""

    def work() -> Any:
        if job.attempts > 1:  # a rerun after a worker loss starts with no results
            artifacts.discard_outputs(job)
        if job.kind == JobKind.DOWNLOAD:
            return downloads.run(job, progress)
        modality = modalities.get(job.modality)
        params = stored_params(modality, job)
        run = import_string(modality.runner)
        return run(job, params, progress)

    return _outcome(job, work)


def stored_params(modality: modalities.Modality, job: Job) -> Any:
    """The job's params, checked again as the worker starts it. They passed when
    it was submitted; a limit lowered since (a shorter GENHUB_MAX_PROMPT_CHARS)
    makes them fail now, which is the request's fault, not GenHub's: InvalidInput
    naming the field."""
    try:
        return modality.params_schema.model_validate(job.params)
    except pydantic.ValidationError as error:
        found = [dict(e) for e in error.errors(include_url=False, include_input=False)]
        first = readable_errors(found)[0]
        field = ".".join(str(part) for part in first["loc"]) or "params"
        raise InvalidInput(field, first["msg"]) from error


def _outcome(job: Job, work: Callable[[], Any]) -> tuple[str, Any]:
    """("succeeded", what `work` returned), ("cancelled", partial result) or
    ("failed", a sentence for the job's owner)."""
    try:
        return "succeeded", work()
    except JobCancelled as stop:
        return "cancelled", stop.partial_result
    except SoftTimeLimitExceeded:
        return "failed", (
            f"The job ran past the worker's time limit of {settings.GENHUB_JOB_SOFT_TIME_LIMIT} s. "
            "Ask for less (fewer tokens, a smaller image, a shorter clip), or ask an admin "
            "to raise GENHUB_JOB_SOFT_TIME_LIMIT."
        )
    except JobError as error:
        return "failed", str(error)
    except InvalidInput as error:  # stored params no longer pass (a limit was lowered)
        return "failed", f"The request's {error.field} is no longer accepted: {error.message}"
    except Exception as error:
        log.exception("job %s failed", job.id)
        return "failed", (
            f"The worker hit an unexpected error ({type(error).__name__}: "
            f"{without_internals(str(error))}). "
            "This is a fault in GenHub or the model, not in your request; the worker "
            "log has the details."
        )
    finally:
        # The runner is done with its models: they may be evicted or unloaded again.
        model_cache.release_all()
