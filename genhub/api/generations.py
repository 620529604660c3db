"""The one way the modalities' POST /generations endpoints create a job: through
`submit_job`, once per Idempotency-Key (genhub/idempotency.py)."""

from typing import Any

from django.http import HttpRequest

from genhub import idempotency
from genhub.jobs import submit_job
from genhub.models import Job


def submit_generation(
    request: HttpRequest,
    owner: Any,
    modality: str,
    model_name: str | None,
    fields: dict[str, Any],
) -> Job:
    """submit_job(owner, modality, model_name, fields), or, for a repeat of an
    earlier request with the same Idempotency-Key, the job that request made."""
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return submit_job(owner, modality, model_name, fields)
    digest = idempotency.request_digest(modality, model_name, fields)
    return idempotency.submit_once(
        owner.pk, key, digest, lambda: submit_job(owner, modality, model_name, fields)
    )
