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
import os
import threading
from collections.abc import Coroutine
from typing import Any

from channels.layers import get_channel_layer

from genhub import redis as genhub_redis
from genhub.models import Job

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
) -> dict[str, Any]:
    """Record one event in the job's live state and send it to the job's group."""
    seq_key, text_key, state_key = _keys(job.id)
    status = status or job.status
    live = {"status": status, "progress": job.progress, **(state or {})}
    pipe = genhub_redis.client().pipeline(transaction=True)
    pipe.incr(seq_key)
    if reset_text:
        pipe.delete(text_key)
    if text:
        pipe.append(text_key, text)
    pipe.hset(state_key, mapping={k: _to_redis(v) for k, v in live.items()})
    for key in (seq_key, text_key, state_key):
        pipe.expire(key, LIVE_TTL_SECONDS)
    seq = pipe.execute()[0]
    event = {"job": str(job.id), "seq": seq, "type": type, "status": status}
    event["progress"] = job.progress
    if text:
        event["text"] = text
    event.update(state or {})
    event.update(payload)
    _sender().send(job.group_name, {"type": EVENT_MESSAGE_TYPE, "event": event})
    return event


def _to_redis(value: Any) -> str:
    return "" if value is None else str(value)


async def read_live_state(job_id: object) -> dict[str, Any]:
    """The last seq and what the events so far add up to (text, step, preview)."""
    seq_key, text_key, state_key = _keys(job_id)
    async with genhub_redis.async_client().pipeline(transaction=True) as pipe:
        pipe.get(seq_key)
        pipe.get(text_key)
        pipe.hgetall(state_key)
        seq, text, state = await pipe.execute()
    return {"seq": int(seq or 0), "text": text or "", "state": state or {}}


class _LayerSender:
    """Sends channel-layer messages from sync code through one long-lived loop.

    async_to_sync would make a fresh event loop, and with it a fresh Redis
    connection, for every token; one loop in a daemon thread keeps the pool.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()
        threading.Thread(target=self.loop.run_forever, daemon=True, name="layer-sender").start()

    def send(self, group: str, message: dict[str, Any]) -> None:
        self._run(self.layer.group_send(group, message))

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)


_sender_instance: _LayerSender | None = None
_sender_pid: int | None = None
_sender_lock = threading.Lock()


def _sender() -> _LayerSender:
    # A forked worker child must not reuse its parent's loop thread (threads do
    # not survive fork), so the sender is made anew per process.
    global _sender_instance, _sender_pid
    with _sender_lock:
        if _sender_instance is None or _sender_pid != os.getpid():
            _sender_instance = _LayerSender()
            _sender_pid = os.getpid()
        return _sender_instance
