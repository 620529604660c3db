"""When the database or Redis cannot be reached: the errors that say so, and the
503 a request gets instead of a 500 page.

Both outages are temporary by nature (a restart, a failover), so the answer says
to try again and when: JSON under /api/, a short page elsewhere.
"""

import logging
from collections.abc import Callable

import kombu.exceptions
import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

# Connection failures only: an IntegrityError or a bad query is a bug, and stays a 500.
DATABASE_ERRORS = (OperationalError, InterfaceError)
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, kombu.exceptions.OperationalError)

RETRY_AFTER_SECONDS = 10

_SENTENCES = {
    "database": "The database cannot be reached right now, so GenHub cannot answer. "
    "Try again in a few seconds.",
    "redis": "The job queue (Redis) cannot be reached right now. Try again in a few seconds.",
}


def unavailable(request: HttpRequest, exception: Exception) -> HttpResponse | None:
    """The 503 for an outage of the database or of Redis; None for any other error."""
    if isinstance(exception, DATABASE_ERRORS):
        service = "database"
    elif isinstance(exception, REDIS_ERRORS):
        service = "redis"
    else:
        return None
    # One line, not a traceback per request while the outage lasts.
    log.warning(
        "%s %s: the %s is unreachable (%s)", request.method, request.path, service, exception
    )
    sentence = _SENTENCES[service]
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": sentence}, status=503)
    else:
        page = f"<!doctype html><title>GenHub is unavailable</title><h1>Unavailable</h1><p>{sentence}</p>"
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class OutageMiddleware:
    """Turns a view's database or Redis connection error into that 503. The API's
    own handlers (genhub/api/root.py) do the same for errors ninja catches."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable(request, exception)
