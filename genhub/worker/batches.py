"""Batches: queued jobs that can share one generation call run together.

After a worker claims the fair-first job of its queue (jobs.claim_job), and
when that job's modality batches (`Modality.batching`), the worker also claims
the queued jobs of the same model whose batch key equals the first's, in the
fair order (genhub/fairness.py), until their sizes (images, not jobs) fill the
model's `options.max_batch`. Each is claimed with the same conditional UPDATE
as any claim, so a job another worker took meanwhile is simply skipped.

No job is left without a run: each queued job sent one message, and a message
runs one fair-first claim (plus the followers it takes). A follower's own
message then finds its job running; it claims the next queued job, or nothing.
So the queue always holds at least as many messages as queued jobs.

Each member of a batch keeps everything of its own: events, previews, heartbeat,
cancel watch, metrics, files and outcome (genhub/worker/execution.py). The
runner calls `drop()` on a member whose cancel flag it sees; the member ends
`cancelled` at once, and its images are thrown away when the call ends.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from genhub import fairness, jobs, modalities
from genhub.models import Job, JobKind
from genhub.worker.progress import JobProgress

log = logging.getLogger(__name__)


# Per model, how many jobs this process's last call of it ran. More than one says
# jobs of it come together, so the next batch may wait for company (gather_followers).
_last_batch_jobs: dict[Any, int] = {}
# How often a waiting batch looks for jobs to join it.
POLL_SECONDS = 0.01


def max_batch(job: Job) -> int:
    """How much one call of the job's model may make: options.max_batch (checked
    when the model is saved: a whole number from 1), else the default."""
    value = _options(job).get("max_batch")
    return value if type(value) is int and value >= 1 else modalities.DEFAULT_MAX_BATCH


def batch_wait_seconds(job: Job) -> float:
    """options.batch_wait_ms (checked when the model is saved) in seconds; 0 without."""
    value = _options(job).get("batch_wait_ms")
    return value / 1000 if type(value) is int and value > 0 else 0.0


def gather_followers(first: Job, worker: str) -> list[Job]:
    """The followers `first` runs with (claim_followers). Where the model sets
    options.batch_wait_ms and this process's last call of the model ran more than
    one job, a batch that is not full looks again every POLL_SECONDS until it is,
    or until the wait is over. Jobs that arrive together (several users, or one
    client's parallel requests) then keep arriving together: each is posted a
    moment after the previous batch ends, just after the worker claimed the first
    of them. A job that comes alone after a job that ran alone never waits."""
    followers = claim_followers(first, worker)
    if _batch_key(first) is None:
        return followers
    wait = batch_wait_seconds(first)
    if wait > 0 and _last_batch_jobs.get(first.model_id, 1) > 1:
        started = time.monotonic()
        deadline = started + wait
        while _room(first, followers) > 0 and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(POLL_SECONDS, left))
            followers += claim_followers(first, worker, taken=followers)
        log.info(
            "job %s waited %.0f ms for its batch: %d more",
            first.id,
            (time.monotonic() - started) * 1000,
            len(followers),
        )
    _last_batch_jobs[first.model_id] = 1 + len(followers)
    return followers


def claim_followers(first: Job, worker: str, taken: Sequence[Job] = ()) -> list[Job]:
    """Claim, for `worker`, the queued jobs that can run in one call with
    `first` (already claimed) and `taken` (followers claimed before): the fair
    order, the same model and batch key, while their sizes fit the room left by
    max_batch. Three queries for the order, then one UPDATE per follower."""
    key = _batch_key(first)
    if key is None:
        return []
    room = _room(first, taken)
    if room <= 0:
        return []
    batching = modalities.get(first.modality).batching
    assert batching is not None  # _batch_key said so
    queue = first.model.job_queue
    rows = fairness.active_jobs({queue}, "model_id", "kind", "params")
    followers: list[Job] = []
    for row in fairness.queue_orders(rows).get(queue, []):
        if room <= 0:
            break
        if row["model_id"] != first.model_id or row["kind"] != JobKind.GENERATE:
            continue
        if batching.key(row["params"]) != key:
            continue
        size = batching.size(row["params"])
        if size > room:
            continue  # too big for what is left; it runs in a call of its own
        claimed = jobs.claim_queued_job(row["id"], worker)
        if claimed is not None:  # else another worker took it meanwhile
            followers.append(claimed)
            room -= size
    if followers:
        log.info("job %s runs in a batch with %d more", first.id, len(taken) + len(followers))
    return followers


def _batch_key(job: Job) -> Any:
    """What a job must share with others to run in one call with them; None when
    it runs alone (not a generation, a modality that does not batch, or params
    that cannot share a call, such as an init image)."""
    modality = modalities.find(job.modality)
    if job.kind != JobKind.GENERATE or modality is None or modality.batching is None:
        return None
    return modality.batching.key(job.params)


def _room(first: Job, taken: Sequence[Job]) -> int:
    """What max_batch leaves after `first` and `taken` (a batchable first job)."""
    batching = modalities.get(first.modality).batching
    assert batching is not None
    return max_batch(first) - sum(batching.size(job.params) for job in (first, *taken))


def _options(job: Job) -> dict[str, Any]:
    return job.model.options if isinstance(job.model.options, dict) else {}


@dataclass
class Member:
    """One job of a batch, as the runner sees it."""

    job: Job
    progress: JobProgress
    params: Any = None  # the modality's params, validated before the call
    dropped: bool = False
    recorded: bool = False  # its cancel is saved; nothing more to record

    @property
    def stopping(self) -> bool:
        """A cancel was asked for, or the job is no longer this attempt's."""
        return self.progress.cancel_requested

    def drop(self) -> None:
        """Leave the batch now: the job ends `cancelled` with no result, and the
        runner discards what the call makes for it. Its latents stay in the call
        until it ends (see imagegen/runner.py, run_batch)."""
        if self.dropped:
            return
        self.dropped = True
        self.progress.settle()  # its step events before its end
        try:
            saved = jobs.stop_cancelled_job(self.job, None, self.progress.metrics)
            self.recorded = True
            if saved is not None:
                log.info("job %s left its batch: cancelled", self.job.id)
        except Exception:
            # The database is away: execution records it with retries at the end.
            log.exception("job %s: its cancel could not be saved yet", self.job.id)
