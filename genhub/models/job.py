"""A generation job: one request, its params, its state and its result.

The status only changes through `genhub.jobs.transition`, which allows the moves
in ALLOWED_TRANSITIONS and nothing else.
"""

import re
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, NullIf

from genhub.models.aimodel import ENGINE_QUEUE, AIModel

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser

# Seeing, downloading and cancelling every user's jobs. is_staff alone only opens
# the admin; this is granted on purpose (the "Operators" group, or superuser).
VIEW_ALL_JOBS = "genhub.view_all_jobs"


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(models.TextChoices):
    GENERATE = "generate"
    DOWNLOAD = "download"  # fetch the model's weights into the model store, nothing else


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

# Valid in JSON text as an escape, but not a character: no page can encode one.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def job_visibility(user: "AbstractUser | AnonymousUser") -> dict[str, Any] | None:
    """Which jobs `user` may see, as field lookups on Job: None for no job (not
    signed in), {} for every job (VIEW_ALL_JOBS), else their own. The one place
    this is decided: JobQuerySet.visible_to filters by it, and so does the status
    read's hand-written statement (genhub/job_reads.py), so a rule here may only
    use plain `field = value` lookups."""
    if not user.is_authenticated:
        return None
    if user.has_perm(VIEW_ALL_JOBS):
        return {}
    return {"owner_id": user.pk}


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, user: "AbstractUser | AnonymousUser") -> "JobQuerySet":
        """Jobs `user` may see: their own, or all of them with VIEW_ALL_JOBS."""
        rule = job_visibility(user)
        if rule is None:
            return self.none()
        return self.filter(**rule)

    def with_queue_name(self) -> "JobQuerySet":
        """Each job with the queue it was sent to (`queue_name`): its model's own
        queue, or else `engine` for an engine model and its modality's for any
        other (AIModel.job_queue, in SQL)."""
        own = NullIf(F("model__queue"), Value(""))
        default = Case(
            When(model__source_type=AIModel.SourceType.ENGINE, then=Value(ENGINE_QUEUE)),
            default=F("model__modality"),
        )
        return self.annotate(queue_name=Coalesce(own, default))


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs"
    )
    modality = models.CharField(max_length=20, db_index=True)
    kind = models.CharField(max_length=10, choices=JobKind.choices, default=JobKind.GENERATE)
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
    # Where GenHub POSTs the job when it ends (genhub/webhooks.py); "" for none.
    callback_url = models.CharField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    # A queued job's place in its queue's fair order; set by genhub.eta.add_etas().
    queue_place: int | None = None
    # Why a queued job waits, a sentence; set by genhub.waiting.add_waiting_notes().
    waiting: str = ""
    # When a queued or running job should be done (and a queued one start), and
    # what says so; set by genhub.eta.add_etas(). No field: computed per request.
    eta: datetime | None = None
    eta_start: datetime | None = None
    eta_basis: str = ""

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("view_all_jobs", "Can see, download and cancel every user's jobs and files"),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
            # A user's active jobs (quotas, fair turns) and their last start on a
            # queue, without reading their whole history (genhub/fairness.py).
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["owner", "-started_at"]),
            # A model's recent runs, for ETAs (genhub/eta.py).
            models.Index(fields=["model", "-finished_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.modality} job {self.id} ({self.status})"

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kw: Any
    ) -> Self:
        # SQLite keeps a lone surrogate ("\ud800") in JSON text, and no page can encode
        # one: a row stored before the API refused them reads back with U+FFFD in its
        # place. PostgreSQL refuses to store one at all, so there the look is skipped
        # (under cProfile the look was 8 % of making a page of 20 jobs on SQLite,
        # where it still runs).
        job = super().from_db(db, field_names, values, **kw)
        if connections[db or DEFAULT_DB_ALIAS].vendor == "postgresql":
            return job
        for name in {"params", "result", "metrics"} - job.get_deferred_fields():
            value = getattr(job, name)
            # Looked for first: copying every job's JSON on every read to replace
            # what is almost never there was a tenth of a status read.
            if _has_lone_surrogate(value):
                setattr(job, name, _without_lone_surrogates(value))
        return job

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def queue_position(self) -> int | None:
        """1 for the next job its queue's workers will take (in the fair order,
        genhub/fairness.py); None unless queued. Set by genhub.eta.add_etas (through
        genhub.waiting.add_waiting_notes) for a page of jobs at once; for one job,
        genhub.fairness.position(job)."""
        if self.status != JobStatus.QUEUED:
            return None
        return self.queue_place

    @property
    def group_name(self) -> str:
        """The channel-layer group that carries this job's events."""
        return f"job.{self.id}"


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return not value.isascii() and _LONE_SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(
            _has_lone_surrogate(key) or _has_lone_surrogate(item) for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def _without_lone_surrogates(value: Any) -> Any:
    """`value` (decoded JSON) with every lone surrogate in its strings and keys
    replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {
            _without_lone_surrogates(key): _without_lone_surrogates(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    return value
