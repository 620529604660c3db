"""Who may open a WebSocket.

Browsers always send an Origin header, so a connection with one must come from
GenHub's own origin, scheme, host and port (or GENHUB_ALLOWED_ORIGINS, see
ws_origin.py); it may use the session cookie. A connection without Origin is an
API client; it must bring its key in `Authorization: Bearer ...` and never rides
on a cookie (that would let any page on any site use a logged-in browser).
"""

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from genhub.api.auth import user_for_bearer_header
from genhub.api.ws_origin import SameOriginValidator


class BearerKeyMiddleware:
    """Puts the user of a bearer key into scope["user"], over any session user."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        value = headers.get(b"authorization")
        if value:
            user = await database_sync_to_async(user_for_bearer_header)(value.decode("latin-1"))
            scope = {**scope, "user": user or AnonymousUser()}
        elif "user" not in scope:
            scope = {**scope, "user": AnonymousUser()}
        return await self.inner(scope, receive, send)


def websocket_auth(inner: Any) -> Any:
    browser = SameOriginValidator(AuthMiddlewareStack(BearerKeyMiddleware(inner)))
    api_client = BearerKeyMiddleware(inner)

    async def app(scope: dict, receive: Any, send: Any) -> Any:
        if any(name == b"origin" for name, _ in scope.get("headers", [])):
            return await browser(scope, receive, send)
        return await api_client(scope, receive, send)

    return app
