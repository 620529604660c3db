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
from dataclasses import dataclass
from typing import Any

from genhub import fairness, jobs, modalities
from genhub.models import Job, JobKind
from genhub.worker.progress import JobProgress

log = logging.getLogger(__name__)


def max_batch(job: Job) -> int:
    """How much one call of the job's model may make: options.max_batch (checked
    when the model is saved: a whole number from 1), else the default."""
    options = job.model.options if isinstance(job.model.options, dict) else {}
    value = options.get("max_batch")
    return value if type(value) is int and value >= 1 else modalities.DEFAULT_MAX_BATCH


def claim_followers(first: Job, worker: str) -> list[Job]:
    """Claim, for `worker`, the queued jobs that can run in one call with
    `first` (already claimed): the fair order, the same model and batch key,
    while their sizes fit the room left by max_batch. Three queries for the
    order, then one UPDATE per follower."""
    modality = modalities.find(first.modality)
    if first.kind != JobKind.GENERATE or modality is None or modality.batching is None:
        return []
    batching = modality.batching
    key = batching.key(first.params)
    room = max_batch(first) - batching.size(first.params)
    if key is None or room <= 0:
        return []
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
        log.info("job %s runs in a batch with %d more", first.id, len(followers))
    return followers


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
