"""Fair queues: which queued job of a queue runs next, and the order after it.

The policy (docs/jobs.md, "Fair queues"), among the queued jobs of one queue:

1. A higher priority first (genhub.policies.priorities: the user's UsagePolicy,
   else the highest of their groups', else 0).
2. Within a priority, a job put back after its worker died goes first: it
   already had its turn, and losing the worker was not its owner's doing.
3. Then users take turns: the user with the fewest jobs running on the queue,
   then the one whose last job start on the queue is oldest (never started:
   oldest of all), then the one whose next job was submitted first.
4. A user's own jobs run in the order they were submitted (`created_at`).

A Celery message names a queue through one of its jobs, not the job to run:
the worker that receives it claims `next_job(queue)`. Queue positions and ETAs
predict the same order with `in_turn`, which plays the turns forward: each
predicted start counts as a running job and as the latest start of its owner.
"""

import heapq
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, F, IntegerField, OuterRef, Subquery, Value, When, Window
from django.db.models.functions import RowNumber

from genhub import policies
from genhub.models import AIModel, Job, JobStatus

# What `queue_orders` reads of each job.
ROW_FIELDS = ("id", "owner_id", "created_at", "attempts", "status", "queue_name")
NEVER = float("-inf")
# Predicted starts come after every real one, in the order they were predicted.
_PREDICTED = 1e13


@dataclass(frozen=True)
class Waiting:
    """A queued job, as far as its turn goes."""

    id: Any
    owner_id: Any
    created_at: datetime
    attempts: int  # above 0: its worker died and it was put back

    @property
    def requeued(self) -> bool:
        return self.attempts > 0


@dataclass(frozen=True)
class Standing:
    """A user on one queue: what decides whose turn it is."""

    priority: int = 0
    running: int = 0
    last_start: float = NEVER  # a timestamp; NEVER when no job of theirs started there


def in_turn(waiting: Iterable[Waiting], standings: dict[Any, Standing]) -> list[Waiting]:
    """The queued jobs of one queue in the order its workers will start them,
    from each owner's standing (`standings` by owner id; missing: Standing())."""
    mine: dict[Any, list[Waiting]] = defaultdict(list)
    for job in waiting:
        mine[job.owner_id].append(job)
    for jobs in mine.values():
        jobs.sort(key=_own_order, reverse=True)  # the next one last: pop() takes it
    now = {owner: standings.get(owner, Standing()) for owner in mine}
    turns = [_turn(now[owner], jobs[-1]) for owner, jobs in mine.items()]
    heapq.heapify(turns)
    order: list[Waiting] = []
    while turns:
        *_, owner = heapq.heappop(turns)
        order.append(mine[owner].pop())
        now[owner] = replace(
            now[owner], running=now[owner].running + 1, last_start=_PREDICTED + len(order)
        )
        if mine[owner]:
            heapq.heappush(turns, _turn(now[owner], mine[owner][-1]))
    return order


def next_job(queue: str) -> Any | None:
    """The id of the queued job of `queue` that should start now, or None when
    nothing is queued there. Four queries, whatever the queue's length and its
    users' histories: each user's next job, their standings (two for their
    priorities); one when only one user has jobs waiting, the common case,
    where turns decide nothing."""
    heads = (
        Job.objects.with_queue_name()
        .filter(queue_name=queue, status=JobStatus.QUEUED)  # type: ignore[misc]  # an annotation
        .annotate(
            n=Window(
                RowNumber(),
                partition_by=[F("owner_id")],
                order_by=[_REQUEUED_FIRST.asc(), F("created_at").asc(), F("id").asc()],
            )
        )
        .filter(n=1)
        .values_list("id", "owner_id", "created_at", "attempts")
    )
    waiting = [Waiting(*row) for row in heads]
    if not waiting:
        return None
    if len(waiting) == 1:  # one user waiting: their next job, whatever the standings
        return waiting[0].id
    by_owner = standings({queue}, {job.owner_id for job in waiting})
    turn = in_turn(waiting, {owner: found for (_, owner), found in by_owner.items()})
    return turn[0].id


def active_jobs(queues: Collection[str], *fields: str) -> list[dict[str, Any]]:
    """The queued and running jobs of `queues`, as rows with ROW_FIELDS and
    `fields`, for `queue_orders` (one query)."""
    if not queues:
        return []
    jobs = Job.objects.with_queue_name().filter(
        queue_name__in=queues,  # type: ignore[misc]  # an annotation
        status__in=(JobStatus.QUEUED, JobStatus.RUNNING),
    )
    return list(jobs.order_by().values(*ROW_FIELDS, *fields))


def queue_orders(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The queued ones of `rows` (each with ROW_FIELDS; every queued job of its
    queue, as `active_jobs` reads them) in the order the workers will start
    them, by queue. Three queries."""
    queued: dict[str, dict[Any, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        if row["status"] == JobStatus.QUEUED:
            queued[row["queue_name"]][row["id"]] = row
    if not queued:
        return {}
    owners = {row["owner_id"] for jobs in queued.values() for row in jobs.values()}
    found = standings(queued.keys(), owners)
    orders = {}
    for queue, jobs in queued.items():
        waiting = [_waiting(row) for row in jobs.values()]
        mine = {owner: standing for (name, owner), standing in found.items() if name == queue}
        orders[queue] = [jobs[job.id] for job in in_turn(waiting, mine)]
    return orders


def position(job: Job) -> int | None:
    """1 for the next job `job`'s queue will start; None unless it is queued.
    For one job; a page of them gets theirs from genhub.eta.add_etas."""
    queue = job.model.job_queue
    order = queue_orders(active_jobs({queue})).get(queue, [])
    return next((place for place, row in enumerate(order, 1) if row["id"] == job.pk), None)


def standings(queues: Collection[str], owners: Collection[Any]) -> dict[tuple[str, Any], Standing]:
    """Each owner's standing on each queue, by (queue, owner id): one query per
    queue for their running jobs and last starts, two for their priorities.

    A user's history grows without end (tens of thousands of jobs for a busy API
    client), and this runs on every claim with several users waiting, every
    submission and every queue order. So nothing here reads the history: per
    owner, the running jobs come through the (owner, status) index, and the last
    start on the queue is the first row of the (owner, -started_at) index that is
    on it. Grouping the whole history instead cost 18 ms a call for a user with
    20,000 jobs (docs/benchmarks.md, "A long history")."""
    if not queues or not owners:
        return {}
    priority = policies.priorities(owners)
    found: dict[tuple[str, Any], Standing] = {}
    for queue in queues:
        # The queue's models as a subquery, not a join: through a join the
        # planner can leave the (owner, -started_at) index for a sort.
        models = AIModel.objects.sending_to(queue).values("pk")
        theirs = Job.objects.filter(owner_id=OuterRef("pk"), model_id__in=models)
        running = (
            theirs.filter(status=JobStatus.RUNNING)
            .order_by()
            .values("owner_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        latest = (
            theirs.filter(started_at__isnull=False).order_by("-started_at").values("started_at")
        )
        rows = (
            get_user_model()
            .objects.filter(pk__in=owners)
            .annotate(running=Subquery(running), last_start=Subquery(latest[:1]))
            .values_list("pk", "running", "last_start")
        )
        for owner, count, last in rows:
            found[queue, owner] = Standing(
                priority=priority.get(owner, 0),
                running=count or 0,
                last_start=NEVER if last is None else last.timestamp(),
            )
    for queue in queues:  # an owner not found above still has a priority
        for owner in owners:
            found.setdefault((queue, owner), Standing(priority=priority.get(owner, 0)))
    return found


# A user's requeued job before their others, in SQL as in `_own_order`.
_REQUEUED_FIRST = Case(
    When(attempts__gt=0, then=Value(0)), default=Value(1), output_field=IntegerField()
)


def _own_order(job: Waiting) -> tuple[bool, datetime, str]:
    return (not job.requeued, job.created_at, str(job.id))


def _turn(standing: Standing, head: Waiting) -> tuple[int, bool, int, float, datetime, str, Any]:
    """What a user's next job is ranked by; the smallest goes first."""
    return (
        -standing.priority,
        not head.requeued,
        standing.running,
        standing.last_start,
        head.created_at,
        str(head.owner_id),
        head.owner_id,
    )


def _waiting(row: dict[str, Any]) -> Waiting:
    return Waiting(row["id"], row["owner_id"], row["created_at"], row["attempts"])
