"""Tells open job sockets when Redis, which carries their events, went away.

channels-redis's pub/sub layer reconnects by itself but says nothing: events
published while Redis was away are gone, and a Redis that restarted empty numbers
a job's events from 1 again, so a socket that stayed open would drop every new
event as one it had already sent. One task per event loop asks Redis for its
`run_id` every CHECK_SECONDS while sockets are open. When Redis does not answer,
or answers with another run_id, each watched socket is told its stream was
interrupted; it closes, and the page reconnects and starts from a fresh snapshot.
"""

import asyncio
import logging
import weakref
from typing import Protocol

import redis

from genhub import redis_clients

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0  # an INFO per web process this often, only while a socket is open
ANSWER_SECONDS = 2.0


class Watched(Protocol):
    async def stream_interrupted(self) -> None:
        """Tell the client, and close."""


class _Watch:
    def __init__(self) -> None:
        self.sockets: set[Watched] = set()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        # Read at once: a socket registers before it subscribes and reads its
        # snapshot, so a restart after that is seen by the first comparison.
        seen = await _run_id()
        while self.sockets:
            await asyncio.sleep(CHECK_SECONDS)
            now = await _run_id()
            if now is None or now != seen:
                why = "does not answer" if now is None else "restarted"
                await self._interrupt_all(why)
            seen = now

    async def _interrupt_all(self, why: str) -> None:
        interrupted, self.sockets = self.sockets, set()
        if interrupted:
            log.warning("Redis %s: %d job stream(s) interrupted", why, len(interrupted))
        for socket in interrupted:
            try:
                await socket.stream_interrupted()
            except Exception:  # a client that left meanwhile; the others still hear
                log.debug("could not tell a socket its stream was interrupted", exc_info=True)


_watches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watch]" = (
    weakref.WeakKeyDictionary()
)


def watch(socket: Watched) -> None:
    """Tell `socket` (through `stream_interrupted`) if Redis goes away or restarts."""
    loop = asyncio.get_running_loop()
    current = _watches.setdefault(loop, _Watch())
    current.sockets.add(socket)
    if current.task is None or current.task.done():
        current.task = loop.create_task(current.run())


def forget(socket: Watched) -> None:
    current = _watches.get(asyncio.get_running_loop())
    if current is not None:
        current.sockets.discard(socket)


async def _run_id() -> str | None:
    """The Redis server's run_id, new at every start; None when it does not answer."""
    try:
        info = await asyncio.wait_for(
            redis_clients.async_client().info("server"), timeout=ANSWER_SECONDS
        )
    except (redis.RedisError, OSError):  # OSError includes the wait_for timeout
        return None
    return str(info.get("run_id"))
