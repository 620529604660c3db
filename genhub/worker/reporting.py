"""Every process that runs jobs reports in: a thread that keeps its `Worker` row
up to date every GENHUB_WORKER_HEARTBEAT_SECONDS, with its queues, its device and
free memory, the models it holds and the job it runs.

Which process that is depends on the pool: each prefork pool process (the main
process only hands out work), or the main process of a solo or threads worker.
A row that stops being touched shows the worker as gone; the job it ran is
recovered by the stale-job sweep, as for any job whose heartbeat stops.
"""

import logging
import os
import sys
import threading
from datetime import timedelta
from typing import Any

import psutil
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Subquery
from django.utils import timezone

import genhub
from genhub.models import Job, Worker
from genhub.worker import identity, model_cache

log = logging.getLogger(__name__)

# Rows of workers gone this long are deleted when a worker starts.
FORGET_AFTER = timedelta(days=1)

_lock = threading.Lock()
_jobs: list[str] = []  # running here, oldest first (a threads pool runs several)
_wake = threading.Event()  # beat now: a job started or ended
_stop = threading.Event()
_thread: threading.Thread | None = None
_row_id: int | None = None
_started_pid: int | None = None


def running(job_id: str) -> None:
    """This process took `job_id`; the next beat, sent at once, says so."""
    with _lock:
        _jobs.append(str(job_id))
    _wake.set()


def idle(job_id: str) -> None:
    """This process is done with `job_id`, however it ended."""
    with _lock:
        if str(job_id) in _jobs:
            _jobs.remove(str(job_id))
    _wake.set()


def start() -> None:
    """Start reporting from this process; a second call in the same process is a no-op."""
    global _thread, _started_pid, _row_id
    me = identity.current()
    if me is None or _started_pid == os.getpid():
        return
    # A process forked from one that reported starts with a copy of its state:
    # it is another process, with a row of its own.
    _started_pid, _row_id = os.getpid(), None
    _jobs.clear()
    _stop.clear()
    _thread = threading.Thread(target=_run, daemon=True, name="worker-report")
    _thread.start()


def stop() -> None:
    """Stop the thread and mark this process's row stopped: a clean shutdown."""
    if _thread is None or _started_pid != os.getpid():
        return
    _stop.set()
    _wake.set()
    _thread.join(timeout=settings.GENHUB_WORKER_HEARTBEAT_SECONDS + 5)
    if _row_id is not None:
        try:
            close_old_connections()
            Worker.objects.filter(pk=_row_id).update(stopped_at=timezone.now())
        except Exception:
            log.exception("could not mark this worker stopped")


def _run() -> None:
    global _row_id
    try:
        try:
            close_old_connections()
            Worker.objects.filter(last_seen_at__lt=timezone.now() - FORGET_AFTER).delete()
        except Exception:
            log.exception("could not delete old worker rows")
        while not _stop.is_set():
            _wake.clear()  # before the beat: a job that starts during it wakes the next
            try:
                close_old_connections()
                _row_id = _beat(_row_id)
            except Exception:
                # A missed beat only risks showing the worker gone for a moment;
                # the thread must live on, or it would stay gone while it works.
                log.exception("worker heartbeat failed")
            _wake.wait(settings.GENHUB_WORKER_HEARTBEAT_SECONDS)
    finally:
        connection.close()


def _beat(row_id: int | None) -> int:
    """Write this process's row; returns its id (a new row if it was deleted)."""
    me = identity.current()
    assert me is not None  # start() checked
    device, total, free = _device()
    with _lock:
        job_id = _jobs[0] if _jobs else None
    now = timezone.now()
    fields: dict[str, Any] = {
        "device": device,
        "memory_total": total,
        "memory_free": free,
        "loaded_models": [
            {"name": entry["name"], "bytes": entry["bytes"]}
            for entry in model_cache.loaded_models()
        ],
        # NULL rather than an error when the job's row was deleted while it ran.
        "job_id": Subquery(Job.objects.filter(pk=job_id).values("pk")[:1]) if job_id else None,
        "last_seen_at": now,
    }
    if row_id is not None and Worker.objects.filter(pk=row_id).update(**fields):
        return row_id
    row = Worker.objects.create(
        node=me.node,
        hostname=me.hostname,
        pid=os.getpid(),
        queues=",".join(me.queues),
        pool=me.pool,
        concurrency=me.concurrency,
        version=genhub.__version__,
        started_at=now,
        **{**fields, "job_id": None},
    )
    if job_id:  # a subquery cannot be given to create(); the next update sets it
        _wake.set()
    # Tests and scripts wait for this line: from now on jobs for these queues are accepted.
    log.info("worker process %s reports in for queue(s) %s", row.pid, row.queues)
    return row.pk


def _device() -> tuple[str, int | None, int | None]:
    """(name, total bytes, free bytes) of the device this process runs models on."""
    if settings.GENHUB_DEVICE != "cpu":
        # Never imported here: the pool's warm-up imports torch in this process,
        # and importing it from this thread at the same time would only wait.
        torch: Any = sys.modules.get("torch")
        if torch is None:
            return "", None, None  # still starting; known at the next beat
        try:
            cuda = torch.cuda.is_available()
        except AttributeError:
            # In a solo or threads worker the warm-up imports torch in the main
            # process while this thread beats: sys.modules holds it half-built.
            return "", None, None
        if cuda:
            # Free memory of the whole GPU, other processes' use included: what
            # matters to whoever places a model there.
            free, total = torch.cuda.mem_get_info()
            return torch.cuda.get_device_name(), total, free
    memory = psutil.virtual_memory()
    return f"cpu ({psutil.cpu_count()} cores{_bf16_note()})", memory.total, memory.available


def _bf16_note() -> str:
    """The device's note where the CPU computes bfloat16: where a model set to
    bfloat16 runs faster than in float32 (docs/models.md, "Precision on CPU")."""
    from genhub.worker.devices import cpu_computes_bf16

    torch: Any = sys.modules.get("torch")  # never imported here (see _device)
    try:
        return ", bfloat16 in hardware" if torch and cpu_computes_bf16(torch) else ""
    except AttributeError:  # half-built by the warm-up in another thread
        return ""


@worker_process_init.connect
def _start_in_pool_process(**kwargs: Any) -> None:
    # A prefork pool process. (The solo pool sends this too, but from the main
    # process before the worker knows its identity; worker_ready covers it.)
    start()


@worker_ready.connect
def _start_in_main_process(**kwargs: Any) -> None:
    me = identity.current()
    if me is not None and me.pool != "prefork":  # solo and threads run jobs here
        start()


@worker_process_shutdown.connect
def _stop_pool_process(**kwargs: Any) -> None:
    stop()


@worker_shutdown.connect
def _stop_worker(**kwargs: Any) -> None:
    stop()
    me = identity.current()
    if me is None:
        return
    # Pool processes may have been ended before they could say so themselves.
    try:
        close_old_connections()
        Worker.objects.filter(node=me.node, stopped_at__isnull=True).update(
            stopped_at=timezone.now()
        )
    except Exception:
        log.exception("could not mark this worker's processes stopped")
