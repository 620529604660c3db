"""Quotas: the limits of genhub.policies, enforced when a job is submitted and
shown on the account page and at GET /api/v1/account/usage.

Counted from Job rows, the source of truth (docs/jobs.md, "Quotas"):
- requests per minute: the user's generation jobs created in the last 60 s;
- jobs at once: the user's generation jobs queued or running;
- compute seconds per day, per modality: the run time of the user's jobs of that
  modality (`finished_at - started_at`, and the time so far of a running one)
  that falls inside the last 24 hours.

Download jobs (staff fetching weights) are neither counted nor limited.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from genhub import eta, modalities
from genhub.errors import QuotaExceeded
from genhub.metrics import events as job_metrics
from genhub.models import Job, JobKind, JobStatus
from genhub.policies import Limits, limits_for
from genhub.waiting import add_waiting_notes

REQUESTS_PER_MINUTE = "requests_per_minute"
MAX_QUEUED = "max_queued"
COMPUTE_SECONDS_PER_DAY = "compute_seconds_per_day"

MINUTE = timedelta(seconds=60)
DAY = timedelta(hours=24)
# Retry-After when the user's active jobs have no ETA (no recent runs, no worker).
NO_ETA_RETRY_SECONDS = 30

_ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class Usage:
    """One limit as it stands for a user: how much is used of how much allowed
    (0: no limit), and, when the limit is reached, in how many seconds it frees up."""

    limit: str  # REQUESTS_PER_MINUTE, MAX_QUEUED or COMPUTE_SECONDS_PER_DAY
    modality: str  # the modality of a compute budget; "" for the other limits
    label: str  # what is counted, for a page: "Jobs submitted in the last minute"
    used: int
    allowed: int
    resets_in: int | None  # seconds; None while under the limit
    message: str  # the refusal's sentence when at the limit; "" otherwise

    @property
    def reached(self) -> bool:
        return self.allowed > 0 and self.used >= self.allowed

    # For a page: "3", "5 min 3 s"; "no limit"; "in 12 s" or "—".
    @property
    def used_text(self) -> str:
        return self._amount(self.used)

    @property
    def allowed_text(self) -> str:
        return self._amount(self.allowed) if self.allowed else "no limit"

    @property
    def resets_text(self) -> str:
        return f"in {_duration(self.resets_in)}" if self.resets_in is not None else "—"

    def _amount(self, value: int) -> str:
        return _duration(value) if self.limit == COMPUTE_SECONDS_PER_DAY else str(value)


def check_quotas(user: Any, modality: str) -> None:
    """Raise QuotaExceeded when `user` may not submit another `modality` job now.

    Call it inside the transaction that creates the job: it locks the user's row,
    so two requests of one user at the same moment are counted one after the other.
    (SQLite has no row locks: there such a pair may both pass.)"""
    limits = limits_for(user)
    budget = limits.compute_seconds_for(modality)
    if not (limits.requests_per_minute or limits.max_queued or budget):
        return
    try:
        with transaction.atomic():  # a savepoint inside submit_job's: the lock lasts to its commit
            list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
            now = timezone.now()
            if limits.requests_per_minute:
                _refuse_if_reached(_requests(user, limits, now))
            if limits.max_queued:
                _refuse_if_reached(_queued(user, limits))
            if budget:
                _refuse_if_reached(_compute(user, limits, modality, now))
    except QuotaExceeded as refusal:
        job_metrics.quota_rejected(refusal.limit, modality)
        raise


def usage(user: Any) -> list[Usage]:
    """Every limit on `user`: requests per minute, jobs at once, and the compute
    budget of each modality. A handful of queries: one per limit and modality."""
    limits = limits_for(user)
    now = timezone.now()
    rows = [_requests(user, limits, now), _queued(user, limits)]
    rows.extend(_compute(user, limits, m.name, now) for m in modalities.all_modalities())
    return rows


# --- the three measures --------------------------------------------------------


def _counted(user: Any) -> QuerySet[Job]:
    return Job.objects.filter(owner=user, kind=JobKind.GENERATE).order_by()


def _requests(user: Any, limits: Limits, now: datetime) -> Usage:
    allowed = limits.requests_per_minute
    recent = _counted(user).filter(created_at__gt=now - MINUTE)
    label = "Jobs submitted in the last minute"
    if not allowed:
        return Usage(REQUESTS_PER_MINUTE, "", label, recent.count(), 0, None, "")
    # The newest `allowed` only (the (owner, -created_at) index): with that many in
    # the window, the limit frees up when the oldest of them leaves it.
    stamps = list(recent.order_by("-created_at").values_list("created_at", flat=True)[:allowed])
    used = recent.count() if len(stamps) == allowed else len(stamps)
    if used < allowed:
        return Usage(REQUESTS_PER_MINUTE, "", label, used, allowed, None, "")
    wait = _seconds_until(stamps[-1] + MINUTE, now)
    message = (
        f"You have submitted {_jobs(used)} in the last minute, the most your account allows "
        f"({allowed} a minute: GENHUB_QUOTA_REQUESTS_PER_MINUTE or your usage policy). "
        f"Try again in {_duration(wait)}."
    )
    return Usage(REQUESTS_PER_MINUTE, "", label, used, allowed, wait, message)


def _queued(user: Any, limits: Limits) -> Usage:
    allowed = limits.max_queued
    active = _counted(user).filter(status__in=_ACTIVE)
    used = active.count()
    label = "Jobs queued or running at once"
    if not allowed or used < allowed:
        return Usage(MAX_QUEUED, "", label, used, allowed, None, "")
    wait = _soonest_end(active)
    message = (
        f"You have {_jobs(used)} queued or running, the most your account allows at once "
        f"({allowed}: GENHUB_QUOTA_MAX_QUEUED or your usage policy). Wait for one to "
        f"finish, or cancel one; the next should be done in about {_duration(wait)}."
    )
    return Usage(MAX_QUEUED, "", label, used, allowed, wait, message)


def _compute(user: Any, limits: Limits, modality: str, now: datetime) -> Usage:
    allowed = limits.compute_seconds_for(modality)
    runs = _runs_in_day(user, modality, now)
    since = Value(now - DAY, output_field=DateTimeField())
    until = Value(now, output_field=DateTimeField())
    # Each run clipped to the window: a run that began 25 h ago counts its last part.
    inside = ExpressionWrapper(
        Coalesce(F("finished_at"), until) - Greatest(F("started_at"), since),
        output_field=DurationField(),
    )
    total = runs.aggregate(total=Sum(inside))["total"] or timedelta()
    used = int(total.total_seconds())
    label = f"{modalities.get(modality).label} worker time in the last 24 hours"
    if not allowed or used < allowed:
        return Usage(COMPUTE_SECONDS_PER_DAY, modality, label, used, allowed, None, "")
    # started_at is never null here (the filter); a running job's run ends now.
    spans = [
        (start or now, end or now) for start, end in runs.values_list("started_at", "finished_at")
    ]
    wait = _compute_frees_in(spans, used, allowed, now)
    message = (
        f"Your {modality} jobs have used {_duration(used)} of worker time in the last 24 "
        f"hours, all of your account's daily {modality} budget "
        f"({_duration(allowed)}: GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY or your usage "
        f"policy). Enough of it frees up in about {_duration(wait)}; other kinds of job "
        "are not affected."
    )
    return Usage(COMPUTE_SECONDS_PER_DAY, modality, label, used, allowed, wait, message)


# --- helpers ---------------------------------------------------------------------


def _refuse_if_reached(usage: Usage) -> None:
    if usage.reached:
        raise QuotaExceeded(usage.limit, usage.message, usage.resets_in or 1)


def _runs_in_day(user: Any, modality: str, now: datetime) -> QuerySet[Job]:
    """The user's `modality` runs that overlap the last 24 hours: ended inside it,
    or running now. A job put back in the queue after its worker died counts again
    only from its next start (its lost run is not known)."""
    return _counted(user).filter(
        Q(finished_at__gt=now - DAY) | Q(status=JobStatus.RUNNING, finished_at__isnull=True),
        modality=modality,
        started_at__isnull=False,
    )


def _soonest_end(active: QuerySet[Job]) -> int:
    """Seconds until the first of the user's active jobs should be done, by its ETA
    (genhub/eta.py); NO_ETA_RETRY_SECONDS when none of them has one."""
    jobs = list(active.select_related("model"))
    add_waiting_notes(jobs)
    left = [seconds for seconds in map(eta.seconds_left, jobs) if seconds is not None]
    return max(1, min(left)) if left else NO_ETA_RETRY_SECONDS


def _compute_frees_in(
    spans: Iterable[tuple[datetime, datetime]], used: int, allowed: int, now: datetime
) -> int:
    """Seconds until enough run time has left the 24-hour window to bring `used`
    under `allowed`. A running job is taken as ending now: if it runs on, the budget
    frees up later than this says (and the next refusal says when)."""
    since = now - DAY
    # (start, length) inside the window of each run, in seconds after `since`.
    parts = []
    for start, end in spans:
        begin = max(start, since)
        if end > begin:
            parts.append(((begin - since).total_seconds(), (end - begin).total_seconds()))
    excess = used - allowed + 1

    def gone_after(wait: float) -> float:
        return sum(min(max(wait - begin, 0.0), length) for begin, length in parts)

    low, high = 0, int(DAY.total_seconds())
    while low < high:  # the least whole second by which `excess` has gone
        middle = (low + high) // 2
        if gone_after(middle) >= excess:
            high = middle
        else:
            low = middle + 1
    return max(1, low)


def _jobs(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"


def _seconds_until(when: datetime, now: datetime) -> int:
    return max(1, int((when - now).total_seconds() + 0.999))


def _duration(seconds: int) -> str:
    """12 s, 5 min 3 s, 2 h 5 min: a length a person reads at a glance."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
