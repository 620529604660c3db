"""Why a queued job waits: its place, and what the workers of its queue are doing.

"#2 in queue 'image'. 1 worker serves it: busy with an audio job." The API
gives it as a job's `waiting`; the job page and the queue panel show it. The
workers are read once for a whole page of jobs, whatever its length.
"""

from collections.abc import Iterable, Sequence

from genhub.eta import add_etas
from genhub.models import Job, JobStatus, Worker
from genhub.shared_reads import shared_read


def add_waiting_notes(jobs: Iterable[Job]) -> None:
    """Set `waiting` on each queued job in `jobs`, and the ETA of each queued or
    running one (genhub/eta.py): three queries at most, whatever the number."""
    jobs = list(jobs)
    queued = [job for job in jobs if job.status == JobStatus.QUEUED]
    # Every live worker: a handful of rows, and fewer queries than one per queue.
    # Read only when a job is queued: only those wait for a worker.
    # Shared by the process's status reads for a moment (genhub/shared_reads.py).
    live = shared_read(("live workers",), _live_workers) if queued else []
    workers = [(set(queues.split(",")), modality) for queues, modality in live]
    add_etas(jobs, [queues for queues, _ in workers])
    for job in queued:
        queue = job.model.job_queue
        busy_with = [modality for queues, modality in workers if queue in queues]
        job.waiting = f"#{job.queue_position()} in queue '{queue}'. {_workers(busy_with)}"


def _live_workers() -> list[tuple[str, str | None]]:
    return list(Worker.objects.live().values_list("queues", "job__modality"))


def _workers(busy_with: Sequence[str | None]) -> str:
    """What the workers of one queue do, from the modality of each one's job
    (None for an idle worker)."""
    if not busy_with:
        return "No worker serves it right now; the job waits until one starts."
    if len(busy_with) == 1:
        modality = busy_with[0]
        doing = f"busy with {_a(modality)} {modality} job" if modality else "idle"
        return f"1 worker serves it: {doing}."
    busy = [modality for modality in busy_with if modality]
    parts = []
    if len(busy) == 1:
        parts.append(f"1 busy with {_a(busy[0])} {busy[0]} job")
    elif busy:
        kinds = _and(list(dict.fromkeys(busy)))  # each modality once, in order
        parts.append(f"{len(busy)} busy with {kinds} jobs")
    if idle := len(busy_with) - len(busy):
        parts.append(f"{idle} idle")
    return f"{len(busy_with)} workers serve it: {', '.join(parts)}."


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
