"""Loaded models, kept per worker process and shared by every job that names them.

Keyed by what makes two loads the same (source, revision, dtype, device). When a
new model would pass the memory budget, the least recently used ones go first.
"""

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)


@dataclass
class CachedModel:
    value: Any
    nbytes: int
    load_seconds: float
    name: str = ""  # the AIModel's name, for the worker's heartbeat
    last_used: float = field(default_factory=time.time)


_entries: "OrderedDict[tuple, CachedModel]" = OrderedDict()
_lock = threading.Lock()


def get_or_load(
    key: tuple, load: Callable[[], Any], nbytes: Callable[[Any], int], name: str = ""
) -> tuple[CachedModel, bool]:
    """The cached model for `key`, loading it on first use. Returns (entry, was_cached)."""
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            _entries[key].last_used = time.time()
            return _entries[key], True
        started = time.monotonic()
        import torch

        try:
            value = load()
        except torch.OutOfMemoryError:
            # Room is made after a load (only then is the size known), so a load
            # can run out of GPU memory beside cached models: drop them, retry once.
            if not _entries:
                raise
            log.warning(
                "out of memory loading %s; unloading %d cached model(s)", key, len(_entries)
            )
            _entries.clear()
            from genhub.worker.devices import free_cuda_memory

            free_cuda_memory()
            value = load()
        entry = CachedModel(value, nbytes(value), time.monotonic() - started, name)
        _make_room(entry.nbytes)
        _entries[key] = entry
        log.info("loaded %s in %.1f s (%.0f MiB)", key, entry.load_seconds, entry.nbytes / 2**20)
        return entry, False


def loaded_models() -> list[dict[str, Any]]:
    """What this process holds, least recently used first: for its heartbeat."""
    with _lock:
        return [
            {"name": e.name, "bytes": e.nbytes, "last_used": e.last_used} for e in _entries.values()
        ]


def _make_room(incoming: int) -> None:
    budget = budget_bytes()
    evicted = False
    while _entries and sum(e.nbytes for e in _entries.values()) + incoming > budget:
        key, _ = _entries.popitem(last=False)
        evicted = True
        log.info("unloaded %s to stay within the model cache budget", key)
    if evicted:
        from genhub.worker.devices import free_cuda_memory

        free_cuda_memory()


def budget_bytes() -> int:
    """GENHUB_MODEL_CACHE_GB, or by default 80% of GPU memory / half of RAM."""
    if settings.GENHUB_MODEL_CACHE_GB > 0:
        return int(settings.GENHUB_MODEL_CACHE_GB * 2**30)
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.get_device_properties(0).total_memory * 0.8)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.5)
