"""What is state rather than an event, read when Prometheus scrapes: the
broker's queue lengths (Redis), jobs waiting and running, and the workers as
their rows last reported them (live processes, device memory, loaded models).

Served by the web tier only, so each figure comes from one kind of target;
every web process reads the same Redis and database, so dashboards take `max`
across them. A source that does not answer is left out of the scrape and
`genhub_state_source_up` says which.
"""

import logging
from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from genhub import modalities, redis_clients
from genhub.celery import WEBHOOK_QUEUE
from genhub.models import AIModel, Job, JobStatus, Worker
from genhub.models.aimodel import ENGINE_QUEUE
from genhub.outages import DATABASE_ERRORS, REDIS_ERRORS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gauge:
    name: str
    documentation: str
    labels: tuple[str, ...]


STATE_SOURCE_UP = Gauge(
    "genhub_state_source_up",
    "1 when the source of the state metrics (database, redis) answered this scrape.",
    ("source",),
)
QUEUE_LENGTH = Gauge(
    "genhub_queue_length", "Messages waiting in the broker's list of the queue.", ("queue",)
)
JOBS = Gauge("genhub_jobs", "Jobs queued or running now, by queue and status.", ("queue", "status"))
QUEUE_OLDEST_JOB_AGE_SECONDS = Gauge(
    "genhub_queue_oldest_job_age_seconds",
    "How long the longest-waiting queued job of the queue has waited.",
    ("queue",),
)
WORKERS = Gauge(
    "genhub_workers",
    "Live worker processes serving the queue, idle or busy (a process serving "
    "several queues counts in each).",
    ("queue", "state"),
)
WORKER_DEVICE_MEMORY_TOTAL_BYTES = Gauge(
    "genhub_worker_device_memory_total_bytes",
    "Memory of the device a worker process runs on (GPU, or the host's RAM).",
    ("node", "pid", "device"),
)
WORKER_DEVICE_MEMORY_FREE_BYTES = Gauge(
    "genhub_worker_device_memory_free_bytes",
    "Free memory of that device, other processes' use included.",
    ("node", "pid", "device"),
)
WORKER_LOADED_MODEL_BYTES = Gauge(
    "genhub_worker_loaded_model_bytes",
    "Models a worker process holds loaded, by their size.",
    ("node", "pid", "model"),
)
GAUGES = (
    STATE_SOURCE_UP,
    QUEUE_LENGTH,
    JOBS,
    QUEUE_OLDEST_JOB_AGE_SECONDS,
    WORKERS,
    WORKER_DEVICE_MEMORY_TOTAL_BYTES,
    WORKER_DEVICE_MEMORY_FREE_BYTES,
    WORKER_LOADED_MODEL_BYTES,
)


def _new(gauge: Gauge) -> GaugeMetricFamily:
    return GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labels))


class StateCollector(Collector):
    def describe(self) -> Iterator[Metric]:
        """The families without samples: what a scrape may hold, read without
        Redis or the database."""
        return (_new(gauge) for gauge in GAUGES)

    def collect(self) -> Iterator[Metric]:
        up = _new(STATE_SOURCE_UP)
        try:
            queues, families = _queues(), list(_from_database())
            up.add_metric(["database"], 1)
        except DATABASE_ERRORS:
            log.warning("metrics: the database did not answer; its state is left out")
            queues, families = _fixed_queues(), []
            up.add_metric(["database"], 0)
        try:
            families.append(_queue_lengths(queues))
            up.add_metric(["redis"], 1)
        except REDIS_ERRORS:
            log.warning("metrics: Redis did not answer; queue lengths are left out")
            up.add_metric(["redis"], 0)
        yield up
        yield from families


def _fixed_queues() -> set[str]:
    return {*(m.queue for m in modalities.all_modalities()), ENGINE_QUEUE, WEBHOOK_QUEUE}


def _queues() -> set[str]:
    """Every queue a job or webhook may be sent to, and every one a worker serves."""
    own = AIModel.objects.exclude(queue="").values_list("queue", flat=True).distinct()
    served = {q for w in Worker.objects.live().only("queues") for q in w.queue_names}
    return _fixed_queues() | set(own) | served


def _queue_lengths(queues: set[str]) -> GaugeMetricFamily:
    # Celery's Redis transport keeps each queue as a list of that name (KEDA
    # scales on the same list): one message per run waiting.
    family = _new(QUEUE_LENGTH)
    with redis_clients.client().pipeline(transaction=False) as pipe:
        ordered = sorted(queues)
        for queue in ordered:
            pipe.llen(queue)
        for queue, length in zip(ordered, pipe.execute(), strict=True):
            family.add_metric([queue], length)
    return family


def _from_database() -> Iterator[GaugeMetricFamily]:
    now = timezone.now()
    jobs = _new(JOBS)
    oldest = _new(QUEUE_OLDEST_JOB_AGE_SECONDS)
    named = Job.objects.with_queue_name().filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    by_queue = named.values("queue_name", "status")  # type: ignore[misc]  # an annotation
    active = by_queue.annotate(count=Count("id"), since=Min("enqueued_at")).order_by()
    for row in active:
        jobs.add_metric([row["queue_name"], row["status"]], row["count"])
        if row["status"] == JobStatus.QUEUED and row["since"] is not None:
            oldest.add_metric([row["queue_name"]], (now - row["since"]).total_seconds())
    yield jobs
    yield oldest
    yield from _workers()


def _workers() -> Iterator[GaugeMetricFamily]:
    live = list(Worker.objects.live())
    per_queue = _new(WORKERS)
    counts = Tally((queue, worker.state) for worker in live for queue in worker.queue_names)
    for (queue, state), count in sorted(counts.items()):
        per_queue.add_metric([queue, state], count)
    total = _new(WORKER_DEVICE_MEMORY_TOTAL_BYTES)
    free = _new(WORKER_DEVICE_MEMORY_FREE_BYTES)
    loaded = _new(WORKER_LOADED_MODEL_BYTES)
    for worker in live:
        ident = [worker.node, str(worker.pid)]
        if worker.memory_total is not None:
            total.add_metric([*ident, worker.device], worker.memory_total)
        if worker.memory_free is not None:
            free.add_metric([*ident, worker.device], worker.memory_free)
        for entry in worker.loaded_models or []:
            if isinstance(entry, dict) and entry.get("name"):
                loaded.add_metric([*ident, str(entry["name"])], float(entry.get("bytes") or 0))
    yield from (per_queue, total, free, loaded)
