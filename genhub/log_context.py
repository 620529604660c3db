"""The job a log line belongs to, carried by a context variable.

`submit_job` binds the job id once its row exists, so the rest of that request
logs with it; the worker binds it around `execute_job`. `JobIdFilter`, on the
console handler (settings.LOGGING), copies it onto every record as `job_id`,
whichever logger wrote it: GenHub's, Django's, Celery's or a library's.

A context variable rather than a thread-local: each ASGI request runs in a
context of its own (asgiref copies it into the thread of a sync view), and each
thread of a threads-pool worker has its own, so concurrent jobs never mix ids.
Threads a job starts (heartbeat, cancel watch) begin with an empty context and
log without it.
"""

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, ParamSpec, TypeVar

from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

_job_id: ContextVar[str | None] = ContextVar("genhub_job_id", default=None)

P = ParamSpec("P")
R = TypeVar("R")


def current_job_id() -> str | None:
    return _job_id.get()


def bind_job(job_id: object) -> None:
    """From here on, this context's log lines carry `job_id`."""
    _job_id.set(str(job_id))


def bind_none() -> Token[str | None]:
    """Unbind any job; `restore(token)` puts back what was bound before."""
    return _job_id.set(None)


def restore(token: Token[str | None]) -> None:
    _job_id.reset(token)


@contextmanager
def job_scope(job_id: object) -> Iterator[None]:
    """Log lines inside the block carry `job_id`; the previous one is restored after."""
    token = _job_id.set(str(job_id))
    try:
        yield
    finally:
        _job_id.reset(token)


def logs_job(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a function whose first argument is a job id: every line it logs,
    and every line of what it calls, carries that id."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with job_scope(args[0]):
            return function(*args, **kwargs)

    return wrapper


class JobIdFilter(logging.Filter):
    """Adds `job_id` (None outside a job) to every record; filters nothing out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "job_id", None) is None:  # an explicit extra={"job_id": ...} wins
            record.job_id = _job_id.get()
        return True


class RequestScopeMiddleware:
    """Each request starts with no job bound and leaves none behind: under WSGI or
    Django's test client requests share a thread, and a job bound by one request
    must not label the next one's lines. A request that made a job logs one line
    for it, the first of the job's life."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        token = _job_id.set(None)
        try:
            response = self.get_response(request)
            if _job_id.get() is not None:
                log.info("%s %s: %s", request.method, request.path, response.status_code)
            return response
        finally:
            _job_id.reset(token)
