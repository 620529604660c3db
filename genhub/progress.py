"""What a runner holds while it works: a way to report progress and to learn
that the job was cancelled. Runners see only this, never Redis or Channels."""

import threading
import time
from typing import Any

from django.conf import settings

from genhub import cancel_flags, events
from genhub.models import Job, JobStatus


class JobProgress:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.metrics: dict[str, Any] = {}
        self._pending_text = ""
        self._last_flush = 0.0
        self._window = settings.GENHUB_TOKEN_COALESCE_MS / 1000
        self._cancelled = threading.Event()

    def started(self) -> None:
        events.publish(
            self.job,
            "started",
            status=JobStatus.RUNNING,
            reset_text=True,
            attempts=self.job.attempts,
        )

    def text(self, delta: str, done: int, total: int) -> None:
        """New generated text. The first piece goes out at once; pieces that
        arrive within the coalescing window after a send wait for the next one."""
        self.job.progress = done / total if total else 0.0
        self._pending_text += delta
        if time.monotonic() - self._last_flush >= self._window:
            self.flush()

    def flush(self) -> None:
        if self._pending_text:
            text, self._pending_text = self._pending_text, ""
            events.publish(self.job, "token", text=text)
            self._last_flush = time.monotonic()

    def step(self, step: int, total: int, preview: str | None = None) -> None:
        """One denoising step or block of audio frames done."""
        self.job.progress = step / total if total else 0.0
        state = {"step": step, "total": total}
        extra = {"preview": preview} if preview else {}
        events.publish(self.job, "step", state={**state, **extra})

    @property
    def cancel_requested(self) -> bool:
        if not self._cancelled.is_set() and cancel_flags.is_raised(self.job.pk):
            self._cancelled.set()
        return self._cancelled.is_set()

    def mark_cancel_requested(self) -> None:
        """Called by the heartbeat when the database says cancel."""
        self._cancelled.set()
