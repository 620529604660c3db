"""Django's ASGI handler with the whole middleware chain and the view in one thread.

Django's own handler builds the chain for async: each middleware that can only
run sync, and the sync view inside them, is reached through its own
sync_to_async or async_to_sync, and a MiddlewareMixin middleware run async
calls its process_request and process_response through one each. A status
read went back and forth between the event loop and the request's thread
several times, and under load every crossing waits for the GIL held by the
loop serving other connections (docs/benchmarks.md, "Web tier").

Here the chain is built sync, as under WSGI, and the event loop enters it once
per request; the view runs directly in that thread. An async view (the OpenAI
layer's) still works: Django runs it through async_to_sync on the loop, and a
streaming response's async iterator is read by the ASGI handler on the loop,
after the chain has returned, exactly as before.
"""

from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest


class OneThreadASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        # ASGIHandler's own __init__ would build the async chain first, for nothing.
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> Any:
        # Thread-sensitive: the same thread as the request_started and
        # request_finished signals, so the request's database connection is the
        # one they open and close.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
