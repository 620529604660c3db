"""The job a status read answers with, in three short hand-written statements.

`GET /api/v1/jobs/{id}` is the request clients make most: every polling client
asks it again and again. Through the ORM its two queries (the job with its
model, then its artifacts) were compiled anew on every request, and compiling
cost more than running them: 3.0 ms of a read against 0.8 ms for the same rows
through raw statements on this machine (docs/benchmarks.md, web tier). Raw
querysets still turn each column into its Python value as the ORM would, so the
job, its model and its artifacts are ordinary instances.
"""

from functools import cache
from typing import Any
from uuid import UUID

from django.db import connection

from genhub.models import AIModel, Artifact, Job
from genhub.models.job import VIEW_ALL_JOBS


def visible_job(user: Any, job_id: UUID) -> tuple[Job, list[Artifact]] | None:
    """Job `job_id` with its model and artifacts, if `user` may see it (as
    Job.objects.visible_to decides); None otherwise."""
    if not user.is_authenticated:
        return None
    pk = Job._meta.get_field("id").get_db_prep_value(job_id, connection)
    if user.has_perm(VIEW_ALL_JOBS):
        jobs = Job.objects.raw(_statements()["job"], [pk])
    else:
        jobs = Job.objects.raw(_statements()["own_job"], [pk, user.pk])
    job = next(iter(jobs), None)
    if job is None:
        return None
    # Assigned through the relation, so job.model needs no query of its own.
    job.model = next(iter(AIModel.objects.raw(_statements()["model"], [job.model_id])))
    return job, list(Artifact.objects.raw(_statements()["artifacts"], [pk]))


@cache
def _statements() -> dict[str, str]:
    """The statements, with names quoted for this database (one per process)."""
    quote = connection.ops.quote_name

    def select_all(model: Any) -> str:
        columns = ", ".join(quote(field.column) for field in model._meta.concrete_fields)
        return f"SELECT {columns} FROM {quote(model._meta.db_table)}"

    def column(model: Any, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    job_is = f"{column(Job, 'id')} = %s"
    # Artifact.Meta.ordering, within one job.
    artifact_order = f"{column(Artifact, 'role')}, {column(Artifact, 'index')}"
    return {
        "job": f"{select_all(Job)} WHERE {job_is}",
        "own_job": f"{select_all(Job)} WHERE {job_is} AND {column(Job, 'owner')} = %s",
        "model": f"{select_all(AIModel)} WHERE {column(AIModel, 'id')} = %s",
        "artifacts": (
            f"{select_all(Artifact)} WHERE {column(Artifact, 'job')} = %s ORDER BY {artifact_order}"
        ),
    }
