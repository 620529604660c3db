"""A job's artifacts, for its status read, in one hand-written statement.

`GET /api/v1/jobs/{id}` is the request clients make most: every polling client
asks it again and again. Through the ORM its artifacts came by
`prefetch_related`, whose query was built and compiled anew on every request:
about half of the read's database work (docs/benchmarks.md, web tier). A raw
queryset still turns each column into its Python value as the ORM does, so the
artifacts are ordinary instances.
"""

from functools import cache
from typing import Any

from django.db import connection

from genhub.models import Artifact


def artifacts_of(job_id: Any) -> list[Artifact]:
    """Job `job_id`'s artifacts, in Artifact.Meta.ordering."""
    pk = Artifact._meta.get_field("job").get_db_prep_value(job_id, connection)
    return list(Artifact.objects.raw(_statement(), [pk]))


@cache
def _statement() -> str:
    """Built from the model's fields once per process, with names quoted for this
    database, so a new column needs no edit here."""
    quote = connection.ops.quote_name
    meta: Any = Artifact._meta

    def column(name: str) -> str:
        return quote(meta.get_field(name).column)

    columns = ", ".join(quote(field.column) for field in meta.concrete_fields)
    return (
        f"SELECT {columns} FROM {quote(meta.db_table)} "
        f"WHERE {column('job')} = %s ORDER BY {column('role')}, {column('index')}"
    )
