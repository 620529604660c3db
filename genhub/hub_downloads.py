"""Fetch a hub model's files into the model store with huggingface_hub, reporting
the bytes written as they arrive.

In the core rather than genhub/worker/ so that `manage.py download_model --here`
may use it too; it imports huggingface_hub (never torch), and only inside its
functions, so the web process never loads it. The worker's side (the job, the
check that the hub answers, the step events) is genhub/worker/downloads.py."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from genhub.models import AIModel

# A callback that takes (bytes done, bytes in all).
ByteReport = Callable[[int, int], None]

# Seconds between two reports: a few a second is enough for a progress bar, and
# each report is an event recorded in Redis.
REPORT_EVERY = 0.25


@dataclass(frozen=True)
class Snapshot:
    commit: str
    path: Path
    bytes: int


def model_store() -> Path:
    """Where hub models are kept: the cache_dir the runners' from_pretrained reads
    (genhub/worker/loading.py, pretrained_location)."""
    return settings.GENHUB_MODEL_DIR / "hub"


def download_snapshot(aimodel: AIModel, report: ByteReport | None = None) -> Snapshot:
    """Download `aimodel` (a hub model) at its pinned revision into the model store.
    With `report`, bytes are reported a few times a second and once at the end;
    without, huggingface_hub draws its own tqdm bars. Files already there are not
    fetched again. Raises what huggingface_hub raises."""
    from huggingface_hub import snapshot_download

    counter = _ByteCounter(report) if report else None
    folder = snapshot_download(
        aimodel.source,
        revision=aimodel.revision or "main",
        cache_dir=str(model_store()),
        tqdm_class=counter.bar_class() if counter else None,
    )
    path = Path(folder)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    if counter:
        counter.finish(size)
    return Snapshot(commit=path.name, path=path, bytes=size)


class _ByteCounter:
    """Turns huggingface_hub's progress bars into (done, total) reports.

    snapshot_download makes three bars from the class it is given: files done,
    bytes received ("Downloading bytes", whose total is a guess that grows) and
    bytes written ("Reconstructing", whose total is the sum of the file sizes).
    Only the last one counts."""

    def __init__(self, report: ByteReport) -> None:
        self.report = report
        self.done = 0
        self.total = 0
        self.last = 0.0
        self.lock = threading.Lock()  # files download in parallel threads

    def bar_class(self) -> type:
        from tqdm.auto import tqdm

        counter = self

        class CountingBar(tqdm):  # type: ignore[misc,type-arg]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["disable"] = True  # the numbers go to the report, not to stderr
                super().__init__(*args, **kwargs)
                self.counts = str(kwargs.get("desc", "")).startswith("Reconstructing")

            def update(self, n: float | None = 1) -> bool | None:
                # A disabled tqdm counts nothing itself, so count here.
                if self.counts:
                    counter.add(int(n or 0), int(self.total or 0))
                return None

        return CountingBar

    def add(self, n: int, total: int) -> None:
        with self.lock:
            self.done += n
            self.total = max(total, self.done)
            now = time.monotonic()
            if now - self.last < REPORT_EVERY:
                return
            self.last = now
            done, total = self.done, self.total
        self.report(done, total)

    def finish(self, size: int) -> None:
        """The last report always goes out, whatever the throttle held back."""
        total = self.total or size
        self.report(total, total)
