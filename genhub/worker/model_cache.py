"""Loaded models, kept per worker process and shared by every job that names them.

Keyed by what makes two loads the same (source, revision, dtype, device). Each
device has a memory budget per process (`budget_bytes`). Room for a model is made
before it loads, from its estimated size (genhub/worker/model_size.py): the least
recently used models go first, but never a pinned one (AIModel.pinned) and never
one a running job holds. A job holds every model it took from the cache until
`release_all()` at its end (genhub/worker/execution.py).

A process loads one model at a time (`_loading`), so the room made for a load is
still free when it ends. The entries have a lock of their own (`_lock`), never
held during a load: a job whose model is cached, the end of a job, an unload or
the worker's heartbeat never wait for another model to load.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from genhub.worker import identity
from genhub.worker.devices import free_cuda_memory, total_memory

log = logging.getLogger(__name__)


@dataclass(eq=False)
class CachedModel:
    key: tuple
    value: Any
    nbytes: int
    load_seconds: float
    name: str = ""  # the AIModel's name: for the heartbeat, and what Unload names
    device: str = "cpu"
    pinned: bool = False
    last_used: float = field(default_factory=time.time)
    users: int = 0  # running jobs that hold it
    unload_when_released: bool = False  # Unload was asked while a job held it

    @property
    def evictable(self) -> bool:
        return not self.pinned and self.users == 0


class _Held(threading.local):
    """The entries held by the job running in this thread (threads pools run
    several jobs in one process)."""

    def __init__(self) -> None:
        self.entries: list[CachedModel] = []


_entries: dict[tuple, CachedModel] = {}
_lock = threading.Lock()  # the entries and their counts
_loading = threading.Lock()  # one load at a time
_held = _Held()


def get_or_load(
    key: tuple,
    load: Callable[[], Any],
    nbytes: Callable[[Any], int],
    *,
    name: str = "",
    device: str = "cpu",
    pinned: bool = False,
    estimate: Callable[[], int | None] = lambda: None,
    hold: bool = True,
) -> tuple[CachedModel, bool]:
    """The cached model for `key`, loading it on first use. Returns (entry, was_cached).

    `estimate` gives the model's loaded size in bytes before it loads (None: not
    known). With `hold`, the job running in this thread holds the entry until
    `release_all()`, so nothing unloads it under the job."""
    with _lock:
        if key in _entries:
            return _use(_entries[key], pinned, hold), True
    with _loading:
        with _lock:
            if key in _entries:  # another thread loaded it while this one waited
                return _use(_entries[key], pinned, hold), True
        entry = _load(key, load, nbytes, name, device, estimate())
        with _lock:
            _entries[key] = entry
            return _use(entry, pinned, hold), False


def _use(entry: CachedModel, pinned: bool, hold: bool) -> CachedModel:
    entry.pinned = pinned  # an admin may have changed it since the load
    entry.last_used = time.time()
    if hold:
        entry.users += 1
        _held.entries.append(entry)
    return entry


def release_all() -> None:
    """The job running in this thread is done with the models it took: from now
    they may be evicted, unloaded when idle, or unloaded as an admin asked."""
    if not _held.entries:
        return
    dropped = False
    with _lock:
        for entry in _held.entries:
            entry.users -= 1
            entry.last_used = time.time()  # idle counts from the end of its last job
            if entry.users == 0 and entry.unload_when_released and _entries.get(entry.key) is entry:
                _drop(entry, "as asked, once its job ended")
                dropped = True
        _held.entries.clear()
    if dropped:
        free_cuda_memory()


def unload(name: str) -> int:
    """Unload every model called `name` (the admin's Unload), pinned ones too. One
    that a running job holds goes when that job ends. Returns how many went now."""
    now = 0
    with _lock:
        for entry in [e for e in _entries.values() if e.name == name]:
            if entry.users:
                entry.unload_when_released = True
                log.info("%s is in use by a running job; it is unloaded when the job ends", name)
            else:
                _drop(entry, "as asked")
                now += 1
    if now:
        free_cuda_memory()
    return now


def unload_idle(idle_seconds: float) -> list[str]:
    """Unload the models no job has used for `idle_seconds`, but for pinned ones
    and those in use. Returns their names."""
    cutoff = time.time() - idle_seconds
    with _lock:
        idle = [e for e in _entries.values() if e.evictable and e.last_used <= cutoff]
        for entry in idle:
            _drop(entry, f"unused for {idle_seconds / 60:g} min")
    if idle:
        free_cuda_memory()
    return [entry.name for entry in idle]


def loaded_models() -> list[dict[str, Any]]:
    """What this process holds, least recently used first: for its heartbeat."""
    with _lock:
        entries = sorted(_entries.values(), key=lambda e: e.last_used)
        return [
            {
                "name": e.name,
                "bytes": e.nbytes,
                "device": e.device,
                "pinned": e.pinned,
                "in_use": e.users > 0,
                "last_used": e.last_used,
            }
            for e in entries
        ]


def held_bytes(device: str) -> int:
    """Bytes of the models cached on `device`."""
    with _lock:
        return _bytes_on(device)


def budget_bytes(device: str) -> int:
    """Bytes this process's cache may hold on `device`: GENHUB_MODEL_CACHE_GB, or
    else GENHUB_MODEL_CACHE_FRACTION of the device's memory, shared by the
    processes of this worker that run jobs. Workers started separately on one GPU
    do not know of each other: they need GENHUB_MODEL_CACHE_GB (docs/models.md)."""
    if settings.GENHUB_MODEL_CACHE_GB > 0:
        return int(settings.GENHUB_MODEL_CACHE_GB * 2**30)
    share = settings.GENHUB_MODEL_CACHE_FRACTION * total_memory(device)
    return int(share / processes_per_device())


def processes_per_device() -> int:
    """This worker's job-running processes: each child of a prefork pool has a
    cache of its own; a threads or solo pool runs every job in one process."""
    me = identity.current()
    if me is None or me.pool != "prefork":
        return 1
    return max(1, me.concurrency)


def _load(
    key: tuple,
    load: Callable[[], Any],
    nbytes: Callable[[Any], int],
    name: str,
    device: str,
    estimate: int | None,
) -> CachedModel:
    label = name or str(key)
    budget = budget_bytes(device)
    if estimate is None:
        log.info("the size of %s is not known before it loads; room is made after", label)
    else:
        if estimate > budget:
            log.warning(
                "%s needs about %s, more than this process's model budget of %s on %s: "
                "it is loaded alone (see GENHUB_MODEL_CACHE_GB)",
                label,
                _size(estimate),
                _size(budget),
                device,
            )
        with _lock:
            _make_room(estimate, device, budget)
    started = time.monotonic()
    import torch

    try:
        value = load()
    except torch.OutOfMemoryError:
        # Something the budget does not count (another process, a short
        # estimate) took the memory: unload what may go and try once more.
        with _lock:
            if not _unload_all_that_may_go(device):
                raise
        log.warning(
            "out of memory loading %s; unloaded the models that may go, trying again", label
        )
        value = load()
    size = nbytes(value)
    if estimate is None or size > estimate:
        with _lock:
            _make_room(size, device, budget)
    seconds = time.monotonic() - started
    log.info(
        "loaded %s in %.1f s: %s (estimated %s)",
        label,
        seconds,
        _size(size),
        _size(estimate) if estimate is not None else "unknown",
    )
    return CachedModel(key, value, size, seconds, name, device)


def _make_room(incoming: int, device: str, budget: int) -> bool:
    """Unload least recently used models on `device` until `incoming` more bytes
    fit in `budget`. Returns whether any went. Called with `_lock` held."""
    dropped = False
    for entry in sorted(_entries.values(), key=lambda e: e.last_used):
        if _bytes_on(device) + incoming <= budget:
            break
        if entry.device == device and entry.evictable:
            _drop(entry, "to make room within the model budget")
            dropped = True
    if dropped:
        free_cuda_memory()
    kept = _bytes_on(device)
    if kept and kept + incoming > budget:
        log.warning(
            "pinned or in-use models hold %s on %s, so the model cache goes over its budget of %s",
            _size(kept),
            device,
            _size(budget),
        )
    return dropped


def _bytes_on(device: str) -> int:
    return sum(e.nbytes for e in _entries.values() if e.device == device)


def _unload_all_that_may_go(device: str) -> bool:
    victims = [e for e in _entries.values() if e.device == device and e.evictable]
    for entry in victims:
        _drop(entry, "out of memory")
    if victims:
        free_cuda_memory()
    return bool(victims)


def _drop(entry: CachedModel, why: str) -> None:
    del _entries[entry.key]
    # Whoever still has the entry no longer keeps the model alive through it.
    entry.value = None
    log.info("unloaded %s (%s)", entry.name or entry.key, why)


def _size(nbytes: int) -> str:
    if nbytes >= 2**30:
        return f"{nbytes / 2**30:.2f} GiB"
    return f"{nbytes / 2**20:.1f} MiB"
