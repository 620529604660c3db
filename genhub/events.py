"""Job events: numbered, recorded in Redis, fanned out through the channel layer.

Every event gets the next `seq` of its job. The same Redis transaction that takes
the number also updates the job's live state (text so far, step, preview), so a
snapshot read from Redis always says which events it already contains: a
WebSocket that subscribes, then reads the snapshot, relays only events with a
higher seq and misses nothing in between.

The channel layer delivers at most once; the database and this live state are
what a reconnecting client recovers from.
"""

import asyncio
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer

from genhub import redis_clients
from genhub.models import Job
from genhub.outages import REDIS_ERRORS

log = logging.getLogger(__name__)

LIVE_TTL_SECONDS = 24 * 3600
EVENT_MESSAGE_TYPE = "job.event"  # handled by JobConsumer.job_event


def _keys(job_id: object) -> tuple[str, str, str]:
    base = f"genhub:job:{job_id}"
    return f"{base}:seq", f"{base}:text", f"{base}:state"


def publish(
    job: Job,
    type: str,
    *,
    status: str | None = None,
    text: str = "",
    reset_text: bool = False,
    state: dict[str, Any] | None = None,
    **payload: Any,
) -> None:
    """Queue one event for the job: it is numbered, recorded in the live state and
    sent to the job's group by this process's sender thread, in order.

    Generation never waits on Redis: a runner's call returns at once.
    """
    status = status or job.status
    event: dict[str, Any] = {"job": str(job.id), "type": type, "status": status}
    event["progress"] = job.progress
    if text:
        event["text"] = text
    event.update(state or {})
    event.update(payload)
    live = {"status": status, "progress": job.progress, **(state or {})}
    _sender().put(_Outgoing(job.id, job.group_name, event, live, text, reset_text))


def drain(timeout: float = 10.0) -> bool:
    """Wait until every event queued in this process has been sent. A worker
    calls this before it reports a job done, so that nothing is left behind."""
    return _sender().drain(timeout)


def read_live_state_now(job_id: object) -> dict[str, str]:
    """The job's live state (step, total, ...), read synchronously: for a command
    that follows a job from outside the event stream."""
    _, _, state_key = _keys(job_id)
    state: dict[str, str] = redis_clients.client().hgetall(state_key)  # type: ignore[assignment]
    return state


async def read_live_state(job_id: object) -> dict[str, Any]:
    """The last seq and what the events so far add up to (text, step, preview)."""
    seq_key, text_key, state_key = _keys(job_id)
    async with redis_clients.async_client().pipeline(transaction=True) as pipe:
        pipe.get(seq_key)
        pipe.get(text_key)
        pipe.hgetall(state_key)
        seq, text, state = await pipe.execute()
    return {"seq": int(seq or 0), "text": text or "", "state": state or {}}


@dataclass
class _Outgoing:
    job_id: object
    group: str
    event: dict[str, Any]
    live: dict[str, Any]
    text: str
    reset_text: bool


def _record(item: _Outgoing) -> int:
    """Take the next seq and update the live state, in one Redis transaction."""
    seq_key, text_key, state_key = _keys(item.job_id)
    pipe = redis_clients.client().pipeline(transaction=True)
    pipe.incr(seq_key)
    if item.reset_text:
        pipe.delete(text_key)
    if item.text:
        pipe.append(text_key, item.text)
    pipe.hset(state_key, mapping={k: "" if v is None else str(v) for k, v in item.live.items()})
    for key in (seq_key, text_key, state_key):
        pipe.expire(key, LIVE_TTL_SECONDS)
    return int(pipe.execute()[0])


class _EventSender:
    """One thread per process that records and sends events in the order queued.

    It keeps one event loop for the channel layer: async_to_sync would make a
    fresh loop, and with it a fresh Redis connection, for every event.
    """

    def __init__(self) -> None:
        self.queue: queue.Queue[_Outgoing] = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()
        threading.Thread(target=self._run, daemon=True, name="event-sender").start()

    def put(self, item: _Outgoing) -> None:
        self.queue.put(item)

    def drain(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks:
            if time.monotonic() > deadline:
                log.warning("%d job event(s) still unsent", self.queue.unfinished_tasks)
                return False
            time.sleep(0.002)
        return True

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        redis_away = False  # one warning per outage, not a traceback per token
        while True:
            item = self.queue.get()
            try:
                item.event["seq"] = _record(item)
                message = {"type": EVENT_MESSAGE_TYPE, "event": item.event}
                self.loop.run_until_complete(self.layer.group_send(item.group, message))
                if redis_away:
                    log.warning("job events reach Redis again")
                    redis_away = False
            except REDIS_ERRORS as error:
                if not redis_away:
                    log.warning("job events are dropped until Redis answers again (%s)", error)
                redis_away = True
            except Exception:
                # A lost event is recoverable (the snapshot has the state); a
                # crashed sender would silence every later job of this process.
                log.exception("could not send %s event of job %s", item.event["type"], item.job_id)
            finally:
                self.queue.task_done()


_sender_instance: _EventSender | None = None
_sender_pid: int | None = None
_sender_lock = threading.Lock()


def _sender() -> _EventSender:
    # A forked worker child must not reuse its parent's sender (threads do not
    # survive fork), so each process makes its own.
    global _sender_instance, _sender_pid
    with _sender_lock:
        if _sender_instance is None or _sender_pid != os.getpid():
            _sender_instance = _EventSender()
            _sender_pid = os.getpid()
        return _sender_instance
