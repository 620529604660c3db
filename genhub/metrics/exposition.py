"""The registry a scrape reads, and `/metrics` on the web tier.

`/metrics` is a middleware at the top of the stack, like `/healthz`: Prometheus
scrapes each pod by its IP, which ALLOWED_HOSTS does not list, and a scrape
needs no session, CSRF or security headers. It is open unless
GENHUB_METRICS_TOKEN is set; then a scrape sends `Authorization: Bearer <token>`
(Prometheus's `authorization` or a ServiceMonitor's `bearerTokenSecret`).
"""

import hmac
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from genhub.metrics.state import StateCollector


class _ThisProcess(Collector):
    """The process's own default registry, added to a registry built per scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def scrape_registry(*, with_state: bool) -> CollectorRegistry:
    """What one scrape reads: the events of every process writing to
    PROMETHEUS_MULTIPROC_DIR (or of this process alone, without one), plus the
    state read from Redis and the database when `with_state`."""
    registry = CollectorRegistry(auto_describe=False)
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(_ThisProcess())
    if with_state:
        registry.register(StateCollector())
    return registry


def authorized(header: str) -> bool:
    """Whether an Authorization header may read the metrics."""
    token = settings.GENHUB_METRICS_TOKEN
    if not token:
        return True
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") != "/metrics":
            return self.get_response(request)
        if not authorized(request.headers.get("Authorization", "")):
            response = HttpResponse("A metrics token is required.\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        else:
            body = generate_latest(scrape_registry(with_state=True))
            response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
        response["Cache-Control"] = "no-store"
        return response
