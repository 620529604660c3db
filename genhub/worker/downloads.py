"""Downloading a hub model on a worker: as a job of its own (kind "download"), or
before a generation job loads a model that is not on disk yet. Either way the
bytes go out as step events, so the job page shows the download moving instead
of "running" with nothing."""

import logging
from typing import Any

from genhub.errors import JobCancelled, JobError, without_internals
from genhub.hub_access import require_hub_or_snapshot
from genhub.hub_downloads import Snapshot, download_snapshot
from genhub.models import AIModel, Job
from genhub.worker.progress import JobProgress

log = logging.getLogger(__name__)


def run(job: Job, progress: JobProgress) -> dict[str, Any]:
    """A download job: fetch its model and say what was fetched."""
    snapshot = fetch(job.model, progress)
    return {"downloaded": job.model.name, "bytes": snapshot.bytes, "revision": snapshot.commit}


def fetch(aimodel: AIModel, progress: JobProgress) -> Snapshot:
    """Download `aimodel` into the model store, reporting bytes through `progress`.
    Fails within seconds, with a sentence, when the hub cannot be reached."""
    # snapshot_download alone would retry for minutes and then blame a file.
    require_hub_or_snapshot(aimodel)

    def report(done: int, total: int) -> None:
        if progress.cancel_requested:
            raise JobCancelled(None)  # stops the download; kept files resume next time
        progress.transfer(done, total)

    try:
        return download_snapshot(aimodel, report)
    except JobCancelled:
        raise
    except Exception as error:
        log.exception("model %s could not be downloaded from %r", aimodel.name, aimodel.source)
        reason = without_internals(str(error).replace(aimodel.source, "…"))
        raise JobError(
            f"Model '{aimodel.name}' could not be downloaded from the Hugging Face hub "
            f"({type(error).__name__}: {reason}). Check the model's source and revision in "
            "the admin; the worker log has the details."
        ) from error
