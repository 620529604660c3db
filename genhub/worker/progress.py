"""What a runner holds while it works: a way to report progress and to learn
that the job was cancelled. Runners see only this, never Redis or Channels."""

import threading
import time
from typing import Any

from django.conf import settings

from genhub import eta, events
from genhub.models import Job, JobStatus
from genhub.worker.cancel_watch import CancelWatch


class JobProgress:
    def __init__(self, job: Job, expected_seconds: float | None = None) -> None:
        self.job = job
        # How long the run should take (genhub.eta.expected_seconds, read once at
        # the start): every event carries the ETA without a query.
        self.expected_seconds = expected_seconds
        self.metrics: dict[str, Any] = {}
        self._pending_text = ""
        self._last_flush = 0.0
        self._window = settings.GENHUB_TOKEN_COALESCE_MS / 1000
        self._cancelled = threading.Event()
        self._started = time.monotonic()
        self._lost = False
        self.steps_done = 0  # step() calls: the denoising steps the metrics count

    def started(self) -> None:
        self._started = time.monotonic()
        events.publish(
            self.job,
            "started",
            status=JobStatus.RUNNING,
            reset_text=True,
            attempts=self.job.attempts,
            **self._eta(),
        )

    def text(self, delta: str, done: int, total: int) -> None:
        """New generated text. The first piece goes out at once; pieces that
        arrive within the coalescing window after a send wait for the next one."""
        self.job.progress = done / total if total else 0.0
        if "first_text_seconds" not in self.metrics:  # claim to first text, model load included
            self.metrics["first_text_seconds"] = round(time.monotonic() - self._started, 4)
        self._pending_text += delta
        if time.monotonic() - self._last_flush >= self._window:
            self.flush()

    def flush(self) -> None:
        if self._pending_text and not self._lost:
            text, self._pending_text = self._pending_text, ""
            events.publish(self.job, "token", text=text, **self._eta())
            self._last_flush = time.monotonic()

    def settle(self) -> None:
        """Send what is pending and wait until it is recorded, before the job's
        row says it ended: a snapshot that reads a terminal row then holds all
        the text that was streamed."""
        self.flush()
        events.drain()

    def step(self, step: int, total: int, preview: str | None = None) -> None:
        """One denoising step or block of audio frames done."""
        self.job.progress = step / total if total else 0.0
        self.steps_done += 1
        if self._lost:
            return
        state = {"step": step, "total": total}
        extra = {"preview": preview} if preview else {}
        events.publish(self.job, "step", state={**state, **extra}, **self._eta())

    def transfer(self, done: int, total: int) -> None:
        """Bytes of the model downloaded so far: a step event the page shows in MB
        ("unit" and "phase" tell it apart from a denoising step)."""
        self.job.progress = done / total if total else 0.0
        if self._lost:
            return
        state = {"step": done, "total": total, "unit": "bytes", "phase": "download"}
        events.publish(self.job, "step", state=state, **self._eta())

    def transfer_done(self) -> None:
        """The download before a generation is over: clear its bytes from the live
        state, so the steps that follow do not read as MB."""
        self.job.progress = 0.0
        if not self._lost:
            state = {"step": 0, "total": 0, "unit": "", "phase": ""}
            events.publish(self.job, "step", state=state)

    def _eta(self) -> dict[str, Any]:
        """`eta`, `eta_seconds` and `eta_basis` from the run's own pace and its
        expected duration: a little arithmetic, no query (genhub/eta.py)."""
        return eta.running_fields(self.job.progress, self.job.started_at, self.expected_seconds)

    @property
    def cancel_requested(self) -> bool:
        """Cheap enough to ask before every token: a local flag that the cancel
        watch and the heartbeat set (see genhub/worker/cancel_watch.py)."""
        return self._cancelled.is_set()

    def wait_for_cancel(self, timeout: float) -> bool:
        """Block up to `timeout` seconds for a cancel; True once one was asked for.
        For a thread that watches a runner stuck waiting on something else."""
        return self._cancelled.wait(timeout)

    def watch_for_cancel(self) -> CancelWatch:
        return CancelWatch(self.job.pk, self._cancelled)

    def mark_lost(self) -> None:
        """This attempt no longer owns the job: stop generating, publish nothing."""
        self._lost = True
        self._cancelled.set()

    def mark_cancel_requested(self) -> None:
        """Called by the heartbeat when the database says cancel."""
        self._cancelled.set()
