"""`/healthz` and `/readyz`, for load balancers, Kubernetes probes and Compose
healthchecks; no auth, a few milliseconds each.

- `/healthz`: the process is alive and answers HTTP. It checks nothing else, so
  an outage of the database or Redis never gets a healthy web pod restarted.
- `/readyz`: the database answers, its migrations are all applied, and Redis
  (broker, channel layer, live job state) answers: the pod may take traffic.

Served by a middleware at the top of the stack rather than a URL: probes reach a
pod by its IP address, which ALLOWED_HOSTS does not list (and should not), and
they need no session, CSRF or security headers.
"""

import functools
import logging
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

from genhub.outages import DATABASE_ERRORS, REDIS_ERRORS

log = logging.getLogger(__name__)

# A probe gives up after a second or so; Redis must answer well within it.
REDIS_TIMEOUT_SECONDS = 0.5

# Once every migration is applied it stays so for the life of the process, and
# reading the migration files costs tens of milliseconds: checked until true.
_migrated = False
_last_failure: str | None = None


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/")
        if path == "/healthz":
            return _no_store(JsonResponse({"status": "alive"}))
        if path == "/readyz":
            return _no_store(readiness())
        return self.get_response(request)


def readiness() -> JsonResponse:
    """200 when the database, its migrations and Redis are ready; 503 naming what is not."""
    global _last_failure
    checks = {"database": _database(), "redis": _redis()}
    checks["migrations"] = _migrations() if checks["database"] == "ok" else "unknown"
    failing = sorted(name for name, state in checks.items() if state != "ok")
    failure = ", ".join(f"{name}: {checks[name]}" for name in failing) or None
    if failure != _last_failure:  # one line when readiness changes, not one per probe
        if failure:
            log.warning("not ready: %s", failure)
        elif _last_failure is not None:
            log.info("ready again")
        _last_failure = failure
    status = 503 if failing else 200
    return JsonResponse(
        {"status": "not ready" if failing else "ready", "checks": checks}, status=status
    )


def _database() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DATABASE_ERRORS:
        # A broken connection is dropped, so the next probe connects afresh.
        connections[DEFAULT_DB_ALIAS].close_if_unusable_or_obsolete()
        return "unreachable"


def _migrations() -> str:
    global _migrated
    if not _migrated:
        try:
            executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DATABASE_ERRORS:
            return "unreachable"
        if pending:
            return f"{len(pending)} not applied (run manage.py migrate)"
        _migrated = True
    return "ok"


def _redis() -> str:
    try:
        _redis_client().ping()
        return "ok"
    except REDIS_ERRORS:
        return "unreachable"


@functools.cache
def _redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # Django logs every 5xx response as an ERROR line; a probe every few seconds
    # during an outage would bury the log. readiness() logs each change once.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
