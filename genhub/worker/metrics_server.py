"""A worker's own metrics endpoint, on GENHUB_WORKER_METRICS_PORT.

Jobs end in the pool processes, and a prefork pool's processes cannot each hold
a port. So each writes its counters and histograms to PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode), and the main process serves their sum
here, from a thread started once the pool is up. A threads or solo pool runs
jobs in the main process and needs no directory. The queue and worker state is
the web tier's to serve (genhub/metrics/state.py), so it is not repeated here.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery.signals import worker_ready
from django.conf import settings
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from genhub.metrics.exposition import authorized, scrape_registry
from genhub.worker import identity

log = logging.getLogger(__name__)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per scrape is noise


def metrics_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if not authorized(environ.get("HTTP_AUTHORIZATION", "")):
        start_response("401 Unauthorized", [("WWW-Authenticate", 'Bearer realm="metrics"')])
        return [b"A metrics token is required.\n"]
    body = generate_latest(scrape_registry(with_state=False))
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [body]


@worker_ready.connect
def _serve(**kwargs: Any) -> None:
    port = settings.GENHUB_WORKER_METRICS_PORT
    if not port:
        return
    me = identity.current()
    if me is not None and me.pool == "prefork" and not settings.PROMETHEUS_MULTIPROC_DIR:
        log.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: the metrics on port %d leave out "
            "what this worker's pool processes count",
            port,
        )
    address = settings.GENHUB_WORKER_METRICS_ADDRESS
    try:
        server = make_server(address, port, metrics_app, _Server, _QuietHandler)
    except OSError as error:
        # Metrics are not worth a worker that runs no jobs.
        log.error("metrics: cannot listen on %s:%d (%s); no worker metrics", address, port, error)
        return
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics on http://%s:%d/metrics", address, port)
