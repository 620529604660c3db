"""WebSocket /ws/jobs/<id>/: a snapshot of the job on connect, then its live
events, closing after the terminal one. Any other path is refused."""

import json
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from genhub import eta
from genhub.api import stream_watch
from genhub.events import read_live_state
from genhub.models import Job
from genhub.outages import DATABASE_ERRORS, REDIS_ERRORS
from genhub.waiting import add_waiting_notes

log = logging.getLogger(__name__)

TERMINAL_EVENTS = frozenset({"succeeded", "failed", "cancelled"})
CLOSE_BAD_FRAME = 4400
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
# Redis (the channel layer and the live state) went away or restarted: the page
# reconnects and resumes from a fresh snapshot. See genhub/api/stream_watch.py.
CLOSE_INTERRUPTED = 4503
INTERRUPTED = (
    "The live stream was interrupted (Redis or the database is unreachable, or Redis "
    "restarted). Reconnect to resume from the job's current state."
)


@database_sync_to_async
def _visible_job(user: Any, job_id: str) -> Job | None:
    return Job.objects.visible_to(user).select_related("model").filter(pk=job_id).first()


@database_sync_to_async
def _job_with_eta(user: Any, job_id: str) -> Job | None:
    job = Job.objects.visible_to(user).select_related("model").filter(pk=job_id).first()
    if job is not None:
        add_waiting_notes([job])  # its ETA (genhub/eta.py)
    return job


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        return False
    return True


class JobConsumer(AsyncJsonWebsocketConsumer):
    closing = False
    group: str | None = None  # the job's group, once the connection is accepted

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except REDIS_ERRORS:
            # Channels subscribes a new socket's channel before `connect`; with
            # Redis away that fails: refuse the handshake (the page tries again
            # with backoff) instead of an ASGI traceback per attempt.
            log.warning("job socket refused: Redis is unreachable")
            await send({"type": "websocket.close", "code": CLOSE_INTERRUPTED})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first hops to a thread to close stale database
        # connections, before every message, for handlers that use the database
        # directly. These handlers do not: connect's two reads go through
        # database_sync_to_async, which closes them itself. With a job's every
        # event a message here, that hop was most of what relaying one cost the
        # web process (docs/benchmarks.md, "What the web process spends on a job").
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        try:
            job = await _visible_job(user, self.scope["url_route"]["kwargs"]["job_id"])
        except DATABASE_ERRORS:
            await self.close(code=CLOSE_INTERRUPTED)  # the page tries again
            return
        if job is None:  # someone else's job looks exactly like a missing one
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = job.group_name
        await self.accept()
        stream_watch.watch(self)  # before subscribing: a restart after this is seen
        try:
            # Subscribe before reading the state, so nothing published after the
            # read can be missed; events the snapshot already holds are dropped by seq.
            await self.channel_layer.group_add(self.group, self.channel_name)
            snapshot = await self._snapshot(job)
        except (*REDIS_ERRORS, *DATABASE_ERRORS):
            await self.stream_interrupted()
            return
        if self.closing:  # interrupted while subscribing
            return
        self.last_seq = snapshot["seq"]
        await self.send_json(snapshot)
        if snapshot["status"] in TERMINAL_EVENTS:
            await self.close()

    async def _snapshot(self, job: Job) -> dict[str, Any]:
        # Live state first, then the row: the row can only be ahead of it, and a
        # terminal row wins (see genhub/events.py).
        live = await read_live_state(job.id)
        job = await _job_with_eta(self.scope["user"], str(job.id)) or job
        state = live["state"]
        snapshot: dict[str, Any] = {
            "job": str(job.id),
            "seq": live["seq"],
            "type": "snapshot",
            "status": job.status,
            "progress": 1.0
            if job.status == "succeeded"
            else float(state.get("progress") or job.progress),
            "modality": job.modality,
            "model": job.model.name,
            "attempts": job.attempts,
            "text": live["text"],
            "result": job.result,
            "error": job.error,
            # Set by _job_with_eta (add_waiting_notes): no query in this async code.
            "queue_position": job.queue_place if job.status == "queued" else None,
            **eta.fields(job),
        }
        for field in ("step", "total"):
            if state.get(field):
                snapshot[field] = int(state[field])
        for field in ("preview", "unit", "phase"):  # unit "bytes": a model download
            if state.get(field):
                snapshot[field] = state[field]
        return snapshot

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        # Clients have nothing to send. The base class would raise on a frame that
        # is not JSON text, logging a traceback for each such frame any client can
        # send; a bad frame closes the socket instead, and valid JSON is ignored.
        if text_data is None or not _is_json(text_data):
            await self.close(code=CLOSE_BAD_FRAME, reason="bad frame")

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        # Events already taken from the channel layer are still dispatched after a
        # close, until the disconnect arrives; the server refuses a send after a
        # close with a RuntimeError, so job_event drops them.
        self.closing = True
        await super().close(code, reason)

    async def stream_interrupted(self) -> None:
        """Redis went away or restarted, so events may be lost or numbered anew:
        say so and close. The page reconnects (with backoff while Redis is away)
        and resumes from a fresh snapshot."""
        if self.closing:
            return
        job = self.scope["url_route"]["kwargs"]["job_id"]
        await self.send_json({"type": "interrupted", "job": str(job), "detail": INTERRUPTED})
        await self.close(code=CLOSE_INTERRUPTED)

    async def disconnect(self, code: int) -> None:
        stream_watch.forget(self)
        if self.group is not None:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except REDIS_ERRORS:
                pass  # Redis is away; its subscriptions went with it

    async def job_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if self.closing or event["seq"] <= self.last_seq:
            return
        self.last_seq = event["seq"]
        await self.send_json(event)
        if event["type"] in TERMINAL_EVENTS:
            await self.close()


class RefusingConsumer(AsyncWebsocketConsumer):
    """Closes every connection before accepting it (an HTTP 403 at the handshake):
    the catch-all route, so an unknown path is not an exception in URLRouter."""

    def __init__(self, close_code: int = CLOSE_NOT_FOUND) -> None:
        super().__init__()  # the base class drops as_asgi()'s keyword arguments
        self.close_code = close_code

    async def connect(self) -> None:
        await self.close(code=self.close_code)
