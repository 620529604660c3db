"""What every runner does the same way around its own loader: check the model's
row, pick the device, load through the cache (its size estimated first, so room
is made before the load; hit and load time recorded), preload for the admin, say
where `from_pretrained` reads from, and turn load failures and CUDA out-of-memory
into sentences for the job's owner."""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings

from genhub.errors import JobError, without_internals
from genhub.hub_access import require_hub_or_snapshot
from genhub.models import AIModel, Job
from genhub.worker import downloads, model_cache
from genhub.worker.devices import free_cuda_memory, pick_device, pick_dtype
from genhub.worker.model_size import estimated_bytes
from genhub.worker.progress import JobProgress

log = logging.getLogger(__name__)

Loaded = TypeVar("Loaded")


def load_cached(
    job: Job,
    progress: JobProgress,
    load: Callable[[AIModel, str], Loaded],
    nbytes: Callable[[Loaded], int],
) -> tuple[Loaded, str]:
    """(the job's loaded model, its device). Loaded on first use and kept by this
    worker process; the job holds it until it ends (model_cache.release_all).
    The job's metrics say whether it was cached and how long loading took."""
    if job.model.source_type == AIModel.SourceType.HUB and not job.model.is_on_disk():
        # Downloaded here, with its bytes shown, rather than inside from_pretrained
        # where the job would read "running" with nothing for minutes.
        started = time.monotonic()
        downloads.fetch(job.model, progress)
        progress.transfer_done()
        progress.metrics["download_seconds"] = round(time.monotonic() - started, 3)
    entry, cached, device = _from_cache(job.model, load, nbytes, hold=True)
    progress.metrics.update(model_cache_hit=cached, load_seconds=round(entry.load_seconds, 3))
    return entry.value, device


def preload_cached(
    aimodel: AIModel, load: Callable[[AIModel, str], Any], nbytes: Callable[[Any], int]
) -> bool:
    """Load `aimodel` into this worker process's cache before a job asks for it
    (the admin's Preload). Returns False when it was loaded already."""
    _, cached, _ = _from_cache(aimodel, load, nbytes, hold=False)
    return not cached


def _from_cache(
    aimodel: AIModel,
    load: Callable[[AIModel, str], Loaded],
    nbytes: Callable[[Loaded], int],
    hold: bool,
) -> tuple[model_cache.CachedModel, bool, str]:
    check_config(aimodel)
    device = pick_device(aimodel.device)
    entry, cached = model_cache.get_or_load(
        (*aimodel.cache_key, device),
        lambda: load(aimodel, device),
        nbytes,
        name=aimodel.name,
        device=device,
        pinned=aimodel.pinned,
        # In the dtype the runner loads it in: pick_dtype is what every runner uses.
        estimate=lambda: estimated_bytes(aimodel, pick_dtype(aimodel.dtype, device).itemsize),
        hold=hold,
    )
    return entry, cached, device


def check_config(aimodel: AIModel) -> None:
    """Fail the job when the row is misconfigured (it may be written around the admin)."""
    problems = aimodel.config_problems()
    if problems:
        raise JobError(
            f"Model '{aimodel.name}' is misconfigured: {' '.join(problems.values())} "
            "An admin can fix it in the model's settings."
        )


def pretrained_location(aimodel: AIModel) -> tuple[str, dict[str, Any]]:
    """Where `from_pretrained` reads a hub or local model, and the arguments it
    takes for that source (a hub model is pinned to its revision and cached
    under GENHUB_MODEL_DIR). A hub model that is not downloaded and cannot be,
    the hub being out of reach, fails here within seconds."""
    if aimodel.source_type == AIModel.SourceType.HUB:
        # Before from_pretrained, which would retry for minutes and then blame a
        # missing file rather than the network.
        require_hub_or_snapshot(aimodel)
        return aimodel.source, {
            "revision": aimodel.revision or None,
            "cache_dir": str(settings.GENHUB_MODEL_DIR / "hub"),
        }
    return aimodel.source, {}


def load_failed(aimodel: AIModel, error: BaseException) -> JobError:
    """The job's error for a model that would not load. It names the model, never a
    path on the server: the full error, path included, goes to the worker log."""
    log.error(
        "model %s could not be loaded from %s %r: %s",
        aimodel.name,
        aimodel.source_type,
        aimodel.source,
        error,
    )
    reason = without_internals(str(error).replace(aimodel.source, "…"))
    return JobError(
        f"Model '{aimodel.name}' could not be loaded ({type(error).__name__}: {reason}). "
        "An admin can check the model's source in the admin; the worker log has the details."
    )


@contextmanager
def out_of_memory_becomes(message: str) -> Iterator[None]:
    """CUDA out-of-memory inside the block frees what it can and fails the job
    with `message`, which says what to ask for instead."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError as error:
        free_cuda_memory()
        raise JobError(message) from error
