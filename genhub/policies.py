"""The limits and queue priority that apply to a user: their own UsagePolicy,
else the most generous of their groups', else the defaults in settings.

Each limit is combined on its own: a user's row that sets only `max_queued`
still takes `requests_per_minute` from their groups or the settings. 0 means
no limit throughout.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from genhub import modalities
from genhub.models import UsagePolicy
from genhub.models.usage_policy import ANY_MODALITY

NO_LIMIT = 0


@dataclass(frozen=True)
class Limits:
    requests_per_minute: int = NO_LIMIT
    max_queued: int = NO_LIMIT
    # {modality: seconds in any 24 hours}, for every registered modality.
    compute_seconds_per_day: dict[str, int] = field(default_factory=dict)
    priority: int = 0

    def compute_seconds_for(self, modality: str) -> int:
        return self.compute_seconds_per_day.get(modality, NO_LIMIT)


def limits_for(user: Any) -> Limits:
    """The limits on `user`'s jobs (one query for their policies)."""
    rows = list(
        UsagePolicy.objects.filter(user=user)
        | UsagePolicy.objects.filter(group__in=user.groups.all())
    )
    own = next((row for row in rows if row.user_id == user.pk), None)
    groups = [row for row in rows if row.user_id != user.pk]
    priority = _priority(own, groups)
    if user.is_superuser and own is None:
        return Limits(priority=priority)
    defaults = default_limits()
    return Limits(
        requests_per_minute=_pick(own, groups, "requests_per_minute", defaults.requests_per_minute),
        max_queued=_pick(own, groups, "max_queued", defaults.max_queued),
        compute_seconds_per_day=_budgets(
            own, groups, parse_budgets(settings.GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY)
        ),
        priority=priority,
    )


def priorities(user_ids: Iterable[Any]) -> dict[Any, int]:
    """Each user's queue priority, for ordering a queue (two queries for any
    number of users); users without a policy are left out (priority 0)."""
    ids = set(user_ids)
    found: dict[Any, int] = {}
    own = UsagePolicy.objects.filter(user_id__in=ids, priority__isnull=False).values_list(
        "user_id", "priority"
    )
    for user_id, priority in own:
        found[user_id] = int(priority or 0)
    by_group = UsagePolicy.objects.filter(
        group__user__in=ids - found.keys(), priority__isnull=False
    ).values_list("group__user", "priority")
    for user_id, priority in by_group:
        found[user_id] = max(int(priority or 0), found.get(user_id, -(2**15)))
    return found


def default_limits() -> Limits:
    budgets = parse_budgets(settings.GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY)
    return Limits(
        requests_per_minute=settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE,
        max_queued=settings.GENHUB_QUOTA_MAX_QUEUED,
        compute_seconds_per_day=_budgets(None, [], budgets),
    )


def parse_budgets(text: str) -> dict[str, int]:
    """GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY: "3600" for every modality, or
    "image=600,*=3600". Raises ValueError naming the setting."""
    text = text.strip()
    if not text:
        return {}
    if "=" not in text:
        return {ANY_MODALITY: _seconds(text)}
    budgets = {}
    for part in text.split(","):
        name, _, seconds = part.partition("=")
        budgets[name.strip()] = _seconds(seconds)
    return budgets


def _seconds(text: str) -> int:
    try:
        seconds = int(text.strip())
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise ValueError(
            f"GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY: '{text}' is not a whole number of "
            'seconds ≥ 0 (write "3600", or "image=600,*=3600")'
        )
    return seconds


def _priority(own: UsagePolicy | None, groups: list[UsagePolicy]) -> int:
    if own is not None and own.priority is not None:
        return own.priority
    return max((row.priority for row in groups if row.priority is not None), default=0)


def _pick(own: UsagePolicy | None, groups: list[UsagePolicy], name: str, default: int) -> int:
    if own is not None and getattr(own, name) is not None:
        return int(getattr(own, name))
    values = [getattr(row, name) for row in groups if getattr(row, name) is not None]
    return _most_generous(values) if values else default


def _budgets(
    own: UsagePolicy | None, groups: list[UsagePolicy], defaults: dict[str, int]
) -> dict[str, int]:
    """Each modality's budget from the first layer that names it, or names "*":
    the user's row, then their groups' (the most generous), then the settings."""
    budgets = {}
    for modality in (m.name for m in modalities.all_modalities()):
        budget = _budget_in(own.compute_seconds_per_day, modality) if own else None
        if budget is None:
            in_groups = [_budget_in(row.compute_seconds_per_day, modality) for row in groups]
            named = [value for value in in_groups if value is not None]
            budget = _most_generous(named) if named else _budget_in(defaults, modality)
        budgets[modality] = budget or NO_LIMIT
    return budgets


def _budget_in(budgets: dict[str, int], modality: str) -> int | None:
    return budgets.get(modality, budgets.get(ANY_MODALITY))


def _most_generous(values: list[int]) -> int:
    return NO_LIMIT if NO_LIMIT in values else max(values)
