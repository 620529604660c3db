"""Following jobs from the web process: their events on the channel layer, with
the database as the fallback, since the layer delivers at most once.

One channel subscribes to every job's group before their state is read, so
nothing published after the read can be missed; events the read already holds
are dropped by seq (as the WebSocket consumer does, genhub/api/consumers.py).
While no event arrives, each unfinished job's row, and its live text, is read
again every `poll` seconds: a lost event costs a delay, never the answer.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from genhub.events import read_live_state
from genhub.models import Job, JobStatus
from genhub.models.job import TERMINAL_STATUSES

POLL_SECONDS = 2.0


@dataclass
class JobView:
    """What a follower knows of one job: its status, its text so far (from the
    events), and once it ended, its result or error."""

    id: str
    status: str
    seq: int = 0
    text: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def final_text(self) -> str:
        """The job's whole text: its result's once it ended, else what streamed."""
        text = self.result.get("text") if self.result else None
        return text if isinstance(text, str) else self.text

    def apply(self, event: dict[str, Any]) -> bool:
        """Take in one event; False for one already seen."""
        if event["seq"] <= self.seq or self.done:
            return False
        self.seq = event["seq"]
        kind = event["type"]
        if kind == "started":
            self.text = ""  # a new attempt makes its text anew
        elif kind == "token":
            self.text += event.get("text", "")
        elif kind in ("succeeded", "cancelled"):
            self.result = event.get("result") or {}
        elif kind == "failed":
            self.error = event.get("error") or ""
        self.status = event.get("status", self.status)
        return True

    def apply_row(self, job: Job) -> bool:
        """Take in the row's outcome, for a job whose final event was lost."""
        if self.done or job.status not in TERMINAL_STATUSES:
            return False
        self.status = job.status
        self.result = job.result or {}
        self.error = job.error
        return True


@database_sync_to_async
def _rows(ids: Sequence[str]) -> dict[str, Job]:
    return {str(job.pk): job for job in Job.objects.filter(pk__in=ids)}


async def _catch_up(views: dict[str, JobView]) -> list[JobView]:
    """Read the rows and live state of the unfinished jobs; the views that changed."""
    pending = [v for v in views.values() if not v.done]
    rows = await _rows([v.id for v in pending])
    changed = []
    for view in pending:
        row = rows.get(view.id)
        if row is not None and view.apply_row(row):
            changed.append(view)
            continue
        live = await read_live_state(view.id)
        if live["seq"] > view.seq:
            view.seq = live["seq"]
            view.text = live["text"]
            changed.append(view)
    return changed


async def follow_jobs(
    job_ids: Sequence[str], *, poll: float = POLL_SECONDS
) -> AsyncIterator[list[JobView]]:
    """Yield the views that changed, each time some did, until every job ended;
    an empty list when `poll` seconds passed without news (a caller streaming
    to a client may send a keep-alive). The first yield holds every job."""
    layer = get_channel_layer()
    assert layer is not None  # settings.CHANNEL_LAYERS is always set
    channel = await layer.new_channel()
    groups = [f"job.{job_id}" for job_id in job_ids]
    receiving: asyncio.Task[Any] | None = None
    try:
        for group in groups:
            await layer.group_add(group, channel)
        views = {str(i): JobView(str(i), JobStatus.QUEUED) for i in job_ids}
        await _catch_up(views)
        yield list(views.values())
        while not all(v.done for v in views.values()):
            # One receive stays pending across polls: cancelling it would make the
            # layer drop the channel's subscription.
            receiving = receiving or asyncio.ensure_future(layer.receive(channel))
            done, _ = await asyncio.wait({receiving}, timeout=poll)
            if receiving in done:
                event = receiving.result().get("event") or {}
                receiving = None
                view = views.get(str(event.get("job")))
                if view is not None and "seq" in event and view.apply(event):
                    yield [view]
            else:
                yield await _catch_up(views)
    finally:
        if receiving is not None:
            receiving.cancel()
        for group in groups:
            try:
                await layer.group_discard(group, channel)
            except Exception:  # Redis may be away; its subscriptions went with it
                pass
