"""Limits and queue priority for one user or one group, over the defaults in
settings (GENHUB_QUOTA_*). genhub.policies combines a user's rows into the
limits that apply to them; genhub.quotas enforces them and genhub.fairness
orders the queues by the priority."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from genhub import modalities

ANY_MODALITY = "*"


class UsagePolicy(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="usage_policy",
    )
    group = models.OneToOneField(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="usage_policy"
    )
    requests_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Jobs a user may submit per minute. Empty: the default "
        "(GENHUB_QUOTA_REQUESTS_PER_MINUTE); 0: no limit.",
    )
    max_queued = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Jobs a user may have queued or running at once. Empty: the default "
        "(GENHUB_QUOTA_MAX_QUEUED); 0: no limit.",
    )
    compute_seconds_per_day = models.JSONField(
        default=dict,
        blank=True,
        help_text='Seconds of worker time per modality in any 24 hours, e.g. {"image": 600, '
        '"*": 3600}; "*" is every modality not named. A modality left out takes the default '
        "(GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY); 0: no limit.",
    )
    priority = models.SmallIntegerField(
        null=True,
        blank=True,
        help_text="Queued jobs of a higher priority start before every lower one's; "
        "equal priorities take turns (docs/jobs.md, 'Fair queues'). Empty: the "
        "highest of the user's groups', else 0.",
    )
    note = models.CharField(max_length=200, blank=True, help_text="Why, for other admins.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "usage policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="usage_policy_for_user_or_group",
            )
        ]

    def __str__(self) -> str:
        return f"policy for {self.user or self.group}"

    def clean(self) -> None:
        if (self.user_id is None) == (self.group_id is None):
            raise ValidationError("Choose either a user or a group, not both.")
        self.compute_seconds_per_day = check_compute_budgets(
            self.compute_seconds_per_day, "compute_seconds_per_day"
        )


def check_compute_budgets(value: Any, field: str) -> dict[str, int]:
    """`value` as {modality or "*": whole seconds}, or a ValidationError naming `field`."""
    if not isinstance(value, dict):
        raise ValidationError({field: 'Give an object such as {"image": 600, "*": 3600}.'})
    known = {m.name for m in modalities.all_modalities()} | {ANY_MODALITY}
    budgets = {}
    for name, seconds in value.items():
        if name not in known:
            raise ValidationError(
                {field: f"'{name}' is not a modality; use one of {', '.join(sorted(known))}."}
            )
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValidationError({field: f"The budget for '{name}' must be a whole number ≥ 0."})
        budgets[name] = seconds
    return budgets
