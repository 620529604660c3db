"""A job's status read, in one hand-written statement: the job, its model and
its artifacts; and the artifacts of a page of jobs, in one more.

`GET /api/v1/jobs/{id}` is the request clients make most: every polling client
asks it again and again. Through the ORM its queries were built and compiled
anew on every request, which cost more than running them: most of the read's
time in the view (docs/benchmarks.md, web tier). Here the statements are built
once per process from the models' fields, with named placeholders (`%(id)s`):
Django's SQLite backend turns those into SQLite's by formatting the statement
once, where for `%s` it runs a regular expression over all of it (a tenth of a
status read; PostgreSQL takes either as it is). Each row becomes an instance the
way the ORM makes one: every column through the same converters
(`Model.from_db`, with Job's own hook). Who may see a job stays decided in one
place, `job_visibility()`, which `Job.objects.visible_to` applies too.
"""

import weakref
from functools import cache
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from genhub.models import AIModel, Artifact, Job
from genhub.models.job import job_visibility


def visible_job(user: Any, job_id: UUID) -> tuple[Job, list[Artifact]] | None:
    """Job `job_id`, its model set, and its artifacts in Artifact.Meta.ordering,
    if `user` may see it; None otherwise."""
    rule = job_visibility(user)
    if rule is None:
        return None
    connection = connections[DEFAULT_DB_ALIAS]
    reader = _reader(connection)
    names = tuple(sorted(rule))
    values = {
        f"rule_{name}": _field(Job, name).get_db_prep_value(rule[name], connection)
        for name in names
    }
    values["id"] = Job._meta.pk.get_db_prep_value(job_id, connection)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(_job_statement(connection.vendor, names), values)
        rows = cursor.fetchall()
    if not rows:
        return None
    # One row per artifact (or one with no artifact): the job's and its model's
    # columns repeat on each, and are read from the first.
    model_at = len(_attnames(Job))
    artifact_at = model_at + len(_attnames(AIModel))
    job = reader.instance(Job, rows[0][:model_at])
    # Assigned through the relation, so job.model needs no query of its own.
    job.model = reader.instance(AIModel, rows[0][model_at:artifact_at])
    artifacts = [
        reader.instance(Artifact, row[artifact_at:]) for row in rows if row[artifact_at] is not None
    ]
    return job, artifacts


def artifacts_by_job(job_ids: list[Any]) -> dict[Any, list[Artifact]]:
    """The artifacts of each of `job_ids` (a page of jobs: one statement for all),
    in Artifact.Meta.ordering; an empty list for a job with none."""
    found: dict[Any, list[Artifact]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return found
    connection = connections[DEFAULT_DB_ALIAS]
    reader = _reader(connection)
    job_field = _field(Artifact, "job")
    pks = {
        f"job{n}": job_field.get_db_prep_value(job_id, connection)
        for n, job_id in enumerate(job_ids)
    }
    with connection.cursor() as cursor:
        cursor.execute(_artifacts_statement(connection.vendor, len(pks)), pks)
        for values in cursor.fetchall():
            artifact = reader.instance(Artifact, values)
            found[artifact.job_id].append(artifact)
    return found


# --- the statements, one per database vendor and rule -----------------------


@cache
def _job_statement(vendor: str, rule_names: tuple[str, ...]) -> str:
    """The job, its model and its artifacts in one round trip to the database."""
    quote = _quote(vendor)
    job, model, artifact = _table(Job, quote), _table(AIModel, quote), _table(Artifact, quote)
    # The rule's placeholders have a prefix of their own: a rule on "id" must
    # not take the place of the job's id, and so drop a condition.
    conditions = [f"{_column(Job, 'id', quote)} = %(id)s"]
    conditions += [f"{_column(Job, name, quote)} = %(rule_{name})s" for name in rule_names]
    columns = ", ".join(_columns(each, quote) for each in (Job, AIModel, Artifact))
    return (
        f"SELECT {columns} FROM {job} "
        f"INNER JOIN {model} ON {_column(AIModel, 'id', quote)} = {_column(Job, 'model', quote)} "
        f"LEFT OUTER JOIN {artifact} ON {_column(Artifact, 'job', quote)} = {_column(Job, 'id', quote)} "
        f"WHERE {' AND '.join(conditions)} ORDER BY {_artifact_order(quote)}"
    )


@cache
def _artifacts_statement(vendor: str, job_count: int) -> str:
    quote = _quote(vendor)
    job = _column(Artifact, "job", quote)
    return (
        f"SELECT {_columns(Artifact, quote)} FROM {_table(Artifact, quote)} "
        f"WHERE {job} IN ({', '.join(f'%(job{n})s' for n in range(job_count))}) "
        f"ORDER BY {_artifact_order(quote)}"
    )


def _artifact_order(quote: Any) -> str:
    """Artifact.Meta.ordering, in SQL."""
    return ", ".join(
        _column(Artifact, str(name).removeprefix("-"), quote)
        + (" DESC" if str(name).startswith("-") else "")
        for name in Artifact._meta.ordering or ["id"]
    )


def _quote(vendor: str) -> Any:
    """Quoting for the default database, whose vendor keys the caches above."""
    return connections[DEFAULT_DB_ALIAS].ops.quote_name


def _table(model: type[Model], quote: Any) -> str:
    return quote(model._meta.db_table)


def _field(model: type[Model], name: str) -> "Field[Any, Any]":
    field = model._meta.get_field(name)
    assert isinstance(field, Field), f"{model.__name__}.{name} is no column"
    return field


def _column(model: type[Model], name: str, quote: Any) -> str:
    return f"{_table(model, quote)}.{quote(_field(model, name).column)}"


def _columns(model: type[Model], quote: Any) -> str:
    table = _table(model, quote)
    return ", ".join(f"{table}.{quote(field.column)}" for field in model._meta.concrete_fields)


# --- rows into instances ----------------------------------------------------


class _RowReader:
    """Turns a model's columns, in concrete-field order, into an instance as the
    ORM does: each value through the backend's converters and the field's own
    (a JSON field's text into objects, SQLite's text into datetimes and UUIDs).
    Converters belong to one connection, and Django's connections to one thread,
    so there is a reader per connection."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.converters: dict[type[Model], list[tuple[Any, list[Any]]]] = {}

    def instance(self, model: type[Model], values: Any) -> Any:
        if model not in self.converters:
            self.converters[model] = self._converters(model)
        values = list(values)
        for position, (column, converters) in enumerate(self.converters[model]):
            for convert in converters:
                values[position] = convert(values[position], column, self.connection)
        return model.from_db(self.connection.alias, _attnames(model), values)

    def _converters(self, model: type[Model]) -> list[tuple[Any, list[Any]]]:
        table = model._meta.db_table
        found = []
        for field in model._meta.concrete_fields:
            column = field.get_col(table)
            backend = self.connection.ops.get_db_converters(column)
            found.append((column, backend + column.get_db_converters(self.connection)))
        return found


@cache
def _attnames(model: type[Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


_readers: "weakref.WeakKeyDictionary[BaseDatabaseWrapper, _RowReader]" = weakref.WeakKeyDictionary()


def _reader(connection: BaseDatabaseWrapper) -> _RowReader:
    reader = _readers.get(connection)
    if reader is None:
        reader = _readers[connection] = _RowReader(connection)
    return reader
