"""`Idempotency-Key`: a repeated job-creating request gets the job the first one
made, instead of a second job.

A client that timed out cannot know whether its POST arrived; with a key it can
send it again safely. The key is claimed in Redis (`SET NX`) before the job is
submitted, so of two concurrent repeats exactly one submits; the other waits
briefly for the job's id. Redis holds, for GENHUB_IDEMPOTENCY_SECONDS (24 h),
`genhub:idempotency:<user id>:<sha256 of the key>` -> {"job", "request"}, where
"request" is the sha256 of the canonical request: a repeat with another body is
a client bug, answered 409 rather than silently given the old job.
"""

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from genhub.models import Job
from genhub.redis_clients import client
from genhub.uploads import ReceivedFile

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# How long a repeat waits for the first request to finish submitting; a submit
# takes milliseconds, so this only runs out when the first one is stuck.
WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.05


class KeyTooLong(Exception):
    def __init__(self) -> None:
        super().__init__(f"The {HEADER} header is longer than {MAX_KEY_LENGTH} characters.")


class KeyConflict(Exception):
    """The key was used for another request, or its first request is still being
    submitted."""


def request_digest(modality: str, model_name: str | None, fields: dict[str, Any]) -> str:
    """The sha256 of a request as parsed: its fields as sorted JSON, a file part
    by the sha256 of its bytes. The same request as JSON or as a form with the
    same values gives the same digest only where the values are the same."""

    def encode(value: Any) -> Any:
        if isinstance(value, ReceivedFile):
            return {"file_sha256": hashlib.sha256(value.data).hexdigest()}
        raise TypeError(f"cannot digest {type(value).__name__}")

    canonical = json.dumps(
        {"modality": modality, "model": model_name, "fields": fields},
        sort_keys=True,
        separators=(",", ":"),
        default=encode,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit_once(user_id: int, key: str, digest: str, submit: Callable[[], Job]) -> Job:
    """The job `submit()` makes, or the one an earlier request with this key made.

    Raises KeyTooLong, KeyConflict, or Redis's connection errors (a 503: without
    Redis a repeat cannot be recognised, and a silent duplicate is worse)."""
    if len(key) > MAX_KEY_LENGTH:
        raise KeyTooLong()
    redis_key = f"genhub:idempotency:{user_id}:{hashlib.sha256(key.encode()).hexdigest()}"
    ttl = max(1, round(settings.GENHUB_IDEMPOTENCY_SECONDS))
    redis = client()
    claim = json.dumps({"job": None, "request": digest})
    for _ in range(2):  # a second round only when the stored job was deleted
        if redis.set(redis_key, claim, nx=True, ex=ttl):
            return _submit_claimed(redis_key, digest, submit)
        job_id = _stored_job_id(redis_key, digest)
        if job_id is None:  # expired between SET NX and GET: claim it afresh
            continue
        job = Job.objects.select_related("model", "owner").filter(pk=job_id).first()
        if job is not None:
            return job
        redis.delete(redis_key)  # the job was deleted since; make a new one
    raise KeyConflict(f"The request with this {HEADER} could not be resolved; try again.")


def _submit_claimed(redis_key: str, digest: str, submit: Callable[[], Job]) -> Job:
    redis = client()
    try:
        job = submit()
    except Exception:
        # Nothing was accepted (a bad body, no worker): a retry with the same key
        # must be free to try again, not be told about a job that never was.
        redis.delete(redis_key)
        raise
    redis.set(redis_key, json.dumps({"job": str(job.id), "request": digest}), xx=True, keepttl=True)
    return job


def _stored_job_id(redis_key: str, digest: str) -> str | None:
    """The job id stored under the key, waiting up to WAIT_SECONDS while its first
    request is still submitting; None when the key is gone."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        raw: str | None = client().get(redis_key)  # type: ignore[assignment]  # a sync client
        if raw is None:
            return None
        stored = json.loads(raw)
        if stored["request"] != digest:
            raise KeyConflict(
                f"This {HEADER} was already used for a different request. "
                "Use a new key for a new request."
            )
        if stored["job"] is not None:
            return str(stored["job"])
        if time.monotonic() >= deadline:
            raise KeyConflict(
                f"A request with this {HEADER} is still being submitted. Try again shortly."
            )
        time.sleep(_POLL_SECONDS)
