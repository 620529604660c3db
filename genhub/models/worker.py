"""The processes that run jobs, as they last reported themselves.

Each job-running process (a prefork pool process, or a solo or threads worker)
keeps one row up to date every few seconds (genhub/worker/reporting.py). A row
that stops being touched belongs to a process that died or lost the database:
it is shown as gone, and is no reason to accept a job for its queues.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Gone workers stay listed this long, so an operator sees what just died.
RECENTLY_GONE = timedelta(hours=1)


class WorkerState(models.TextChoices):
    IDLE = "idle"
    BUSY = "busy"
    GONE = "gone"


class WorkerQuerySet(models.QuerySet["Worker"]):
    def live(self) -> "WorkerQuerySet":
        """Seen within GENHUB_WORKER_GONE_SECONDS and not shut down."""
        return self.filter(stopped_at__isnull=True, last_seen_at__gte=_gone_before())

    def serving(self, queue: str) -> "WorkerQuerySet":
        """Workers that consume `queue`. `queues` holds Celery's comma-separated
        -Q list; a queue name never holds a comma, so these four patterns match
        the whole name only, and work on SQLite, where JSON containment does not."""
        return self.filter(
            Q(queues=queue)
            | Q(queues__startswith=f"{queue},")
            | Q(queues__endswith=f",{queue}")
            | Q(queues__contains=f",{queue},")
        )

    def recent(self) -> "WorkerQuerySet":
        """The live ones and those gone within RECENTLY_GONE, newest first."""
        return self.filter(last_seen_at__gte=timezone.now() - RECENTLY_GONE).order_by("-started_at")


class Worker(models.Model):
    node = models.CharField(max_length=200, help_text="Celery's node name, as -n gives it.")
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    queues = models.CharField(max_length=1000, help_text="The queues it serves, as -Q lists them.")
    pool = models.CharField(max_length=20, help_text="prefork, solo or threads.")
    concurrency = models.PositiveIntegerField(default=1)
    device = models.CharField(max_length=200, blank=True, help_text="Blank until it is known.")
    memory_total = models.BigIntegerField(null=True, blank=True, help_text="Device bytes.")
    memory_free = models.BigIntegerField(null=True, blank=True, help_text="Device bytes.")
    loaded_models = models.JSONField(default=list, blank=True, help_text="[{name, bytes}]")
    job = models.ForeignKey(
        "genhub.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.CharField(max_length=50, help_text="The GenHub version it runs.")
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when it shut down cleanly."
    )

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.node} pid {self.pid}"

    @property
    def state(self) -> str:
        if self.stopped_at is not None or self.last_seen_at < _gone_before():
            return WorkerState.GONE
        return WorkerState.BUSY if self.job_id else WorkerState.IDLE

    @property
    def queue_names(self) -> list[str]:
        return [name for name in self.queues.split(",") if name]


def _gone_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.GENHUB_WORKER_GONE_SECONDS)
