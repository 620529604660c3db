"""Queue reads that every waiting job's status read repeats, shared in a process for a moment.

A queued job's status read asks what its queue holds and in what order, the
standings of their owners, its model's recent run times and the live workers:
six queries (docs/benchmarks.md, "Web tier"), and the same six for every client
polling any job of that queue in that second, and for each queue panel. Each
process keeps those answers for GENHUB_QUEUE_READ_SECONDS (1 s by default), so
a place or an ETA shown is at most that old. A job's own row (its status, its
progress, its result) is always read fresh; and a queued job missing from a kept
queue order (newer than it) makes its caller read the queue again.
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.conf import settings

T = TypeVar("T")

_kept: dict[Hashable, tuple[float, Any]] = {}
_lock = threading.Lock()
# Keys are queue and model sets; a process sees few. Past this many, old ones go.
_MOST_KEPT = 256


def shared_read(key: Hashable, read: Callable[[], T], *, fresh: bool = False) -> T:
    """`read()`, or what it returned for `key` in this process within the last
    GENHUB_QUEUE_READ_SECONDS; `fresh` reads again. The value is shared: never
    change it in place."""
    seconds = settings.GENHUB_QUEUE_READ_SECONDS
    if seconds <= 0:
        return read()
    now = time.monotonic()
    kept = _kept.get(key)
    if kept is not None and not fresh and now - kept[0] < seconds:
        return kept[1]
    value = read()  # outside the lock: two threads may both read, and both answers are right
    with _lock:
        if len(_kept) >= _MOST_KEPT:
            for old in [k for k, (at, _) in _kept.items() if now - at >= seconds]:
                del _kept[old]
        _kept[key] = (now, value)
    return value


def forget_all() -> None:
    """Drop every kept read (tests; after a change the caller must see at once)."""
    with _lock:
        _kept.clear()
