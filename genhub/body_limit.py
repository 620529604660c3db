"""Refuse a request body over GENHUB_MAX_REQUEST_BYTES before anything stores it.

Django's ASGIHandler reads the whole body (into a temporary file past 2.5 MB)
before any middleware, auth or view runs, so its own limits come too late: a
3 GB upload with no key would fill the disk first. This ASGI middleware sits in
front of it and counts the body as it arrives.
"""

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

from genhub.errors import BodyTooLarge

Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]


class BodyLimit:
    """Answers 413 for a body over the limit, and passes nothing past the limit on.

    A declared Content-Length over the limit is refused before a byte is read. A
    chunked body is counted; at the chunk that crosses the limit the client gets
    the 413 and the app gets `http.disconnect`, on which Django gives up quietly.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.GENHUB_MAX_REQUEST_BYTES
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send)
            return

        received = 0
        refused = False

        async def receive_within_limit() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message: Message) -> None:
            # The client has its answer; whatever the app says after that is dropped.
            if not refused:
                await send(message)

        await self.app(scope, receive_within_limit, send_unless_refused)


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


async def _refuse(send: Send) -> None:
    body = json.dumps({"detail": str(BodyTooLarge())}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read, so the connection cannot
                # carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
