"""A generation job: one request, its params, its state and its result.

The status only changes through `genhub.jobs.transition`, which allows the moves
in ALLOWED_TRANSITIONS and nothing else.
"""

import uuid

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    # queued -> failed: the job could not be sent to the broker at all.
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    # running -> queued is the one way back: a job whose worker died is put
    # back in the queue (at most GENHUB_JOB_MAX_ATTEMPTS runs in all).
    JobStatus.RUNNING: frozenset(
        {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED}
    ),
}


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, user: models.Model) -> "JobQuerySet":
        """Jobs `user` may see: their own, or all of them for staff."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if getattr(user, "is_staff", False):
            return self.all()
        return self.filter(owner=user)


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs"
    )
    modality = models.CharField(max_length=20, db_index=True)
    model = models.ForeignKey("genhub.AIModel", on_delete=models.PROTECT, related_name="jobs")
    prompt = models.TextField(help_text="The prompt as a person would read it.")
    params = models.JSONField(help_text="Validated params, model defaults applied.")
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.modality} job {self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def queue_position(self) -> int | None:
        """1 for the next job its modality's workers will take; None unless queued."""
        if self.status != JobStatus.QUEUED or self.enqueued_at is None:
            return None
        ahead = Job.objects.filter(
            modality=self.modality, status=JobStatus.QUEUED, enqueued_at__lt=self.enqueued_at
        )
        return ahead.count() + 1

    @property
    def group_name(self) -> str:
        """The channel-layer group that carries this job's events."""
        return f"job.{self.id}"
