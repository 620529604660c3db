"""The one way the modalities' POST /generations endpoints create a job: through
`submit_job`, once per Idempotency-Key (genhub/idempotency.py)."""

import hashlib
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from genhub import idempotency
from genhub.jobs import submit_job
from genhub.models import Job
from genhub.webhooks import check_callback_url


def submit_generation(
    request: HttpRequest,
    owner: Any,
    modality: str,
    model_name: str | None,
    fields: dict[str, Any],
    callback_url: object = None,
    choice: int = 0,
    make: Callable[[str], Job] | None = None,
) -> Job:
    """submit_job(owner, modality, model_name, fields), or, for a repeat of an
    earlier request with the same Idempotency-Key, the job that request made.
    `callback_url` is the request's, next to the params: checked here. `choice`
    numbers the jobs of a request that makes several (OpenAI's `n`), so that each
    has its own key. `make(callback_url)`, when given, makes the job instead of
    submit_job (a chat turn appends to its conversation too); `fields` are then the
    request's, as the key's digest knows them."""
    url = "" if callback_url is None else check_callback_url(callback_url)

    def submit() -> Job:
        if make is not None:
            return make(url)
        return submit_job(owner, modality, model_name, fields, callback_url=url)

    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return submit()
    if choice:
        if len(key) > idempotency.MAX_KEY_LENGTH:
            raise idempotency.KeyTooLong()
        key = f"choice-{choice}:{hashlib.sha256(key.encode()).hexdigest()}"
    # The URL is part of the request: the same key with another URL is a conflict.
    # Left out when absent, so a request without one digests as it always did.
    digested = {**fields, "callback_url": url} if url else fields
    digest = idempotency.request_digest(modality, model_name, digested)
    return idempotency.submit_once(owner.pk, key, digest, submit)
