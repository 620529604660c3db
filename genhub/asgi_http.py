"""Django's ASGI handler, with each request's sync work in one trip to a pool of threads.

Django's own handler gives every request a thread of its own (a new
ThreadSensitiveContext, so a new single-thread executor), and reaches it
several times: the request_started signal, each sync-only middleware, the view,
and response.close() with request_finished. A new thread means a new database
connection, since Django's connections belong to their thread: on SQLite that
is a file opened and twenty functions registered, on PostgreSQL a backend
forked. Profiled under load, opening the connection was more than half of a
status read's time (docs/benchmarks.md, "Web tier").

Here the middleware chain is built sync, as under WSGI, and a request makes one
trip from the event loop to a thread of a fixed pool (GENHUB_HTTP_THREADS):
request_started, the chain and the view, and, for a response already in memory,
response.close() with request_finished. A thread serves many requests in turn,
one at a time, so it keeps its connection (CONN_MAX_AGE) as a WSGI server's
threads do.

What stays as in Django:
- An async view (the OpenAI layer's) runs through async_to_sync on the loop;
  its thread-sensitive sync_to_async calls come back to the request's pool
  thread.
- A streaming response is read on the loop after the view returns, while a
  task listens for the client going away and cancels the sending if it does
  (an SSE stream stops following its job). Thread-sensitive calls it makes run
  in a thread of the request's own, made only if they happen.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix


class ThreadPoolASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        # ASGIHandler's own __init__ would build the async chain first, for nothing.
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        # A thread is held for a request's whole sync part: for a non-streaming
        # OpenAI request that is until its job ends, so there are many, made as
        # needed; requests beyond them wait for one.
        self.threads = ThreadPoolExecutor(
            max_workers=settings.GENHUB_HTTP_THREADS, thread_name_prefix="http"
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP here, not {scope['type']}.")
        # Cheap: the context's own thread is made only if something asks for it.
        async with ThreadSensitiveContext():
            await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        in_pool = sync_to_async(self.respond, thread_sensitive=False, executor=self.threads)
        response = await in_pool(scope, body_file)
        if not response.streaming:
            await self.send_response(response, send)
            return
        await self.stream(response, receive, send)
        await sync_to_async(response.close, thread_sensitive=False, executor=self.threads)()
        body_file.close()

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The request's sync part, in a pool thread. A response held in memory
        is closed here (request_finished: the thread's connection is released
        or kept by CONN_MAX_AGE), before it is sent; a streaming one after."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None  # Django gives one or the other
            response: HttpResponseBase = error_response
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                # The ASGI server does its own chunking.
                response.block_size = self.chunk_size
        if not response.streaming:
            response.close()
            body_file.close()
        return response

    async def stream(self, response: HttpResponseBase, receive: Any, send: Any) -> None:
        """Send a streaming response; stop when the client goes away."""
        sending = asyncio.create_task(self.send_response(response, send))
        listening = asyncio.create_task(self.listen_for_disconnect(receive))
        await asyncio.wait([sending, listening], return_when=asyncio.FIRST_COMPLETED)
        for task in (listening, sending):
            if not task.done():
                task.cancel()
            try:
                await task
            except (asyncio.CancelledError, RequestAborted):
                pass
