"""Who may read /metrics, on the web tier and a worker's own endpoint, and what
a scrape holds when a source is away."""

from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from genhub.worker.metrics_server import metrics_app

pytestmark = pytest.mark.django_db


def names(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def test_metrics_answer_any_host_like_the_probes(settings):
    settings.ALLOWED_HOSTS = ["genhub.example.com"]
    # Prometheus scrapes the pod's IP, which ALLOWED_HOSTS does not list.
    response = Client().get("/metrics", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"
    assert {"genhub_queue_length", "genhub_workers", "genhub_state_source_up"} <= names(
        response.content.decode()
    )


def test_with_a_token_set_a_scrape_must_send_it(settings):
    settings.GENHUB_METRICS_TOKEN = "s3cret"
    client = Client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    refused = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cre")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def _call(environ: dict[str, Any]) -> tuple[str, bytes]:
    status: list[str] = []
    body = b"".join(metrics_app(environ, lambda code, headers: status.append(code)))
    return status[0], body


def test_the_worker_endpoint_asks_for_the_same_token(settings):
    settings.GENHUB_METRICS_TOKEN = "s3cret"
    assert _call({})[0].startswith("401")
    status, body = _call({"HTTP_AUTHORIZATION": "Bearer s3cret"})
    assert status.startswith("200")
    # Events only: the state is the web tier's to serve, once.
    assert "genhub_queue_length" not in names(body.decode())


def test_a_scrape_without_redis_still_answers_and_says_so(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    from genhub import redis_clients

    redis_clients.client.cache_clear()
    try:
        response = Client().get("/metrics")
    finally:
        redis_clients.client.cache_clear()
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    up = {s.labels["source"]: s.value for s in families["genhub_state_source_up"].samples}
    assert up == {"database": 1.0, "redis": 0.0}
    assert "genhub_queue_length" not in families
    assert "genhub_workers" in families
