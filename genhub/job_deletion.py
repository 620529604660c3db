"""Deleting a user's own jobs, with their files.

Only a job that has ended is deleted: a queued or running one is refused, named
in the answer, and its owner cancels it first (POST /jobs/{id}/cancel). Deleting
it under a running worker would leave that worker writing files for a row that
is gone, which no one would ever clean up; a job that has ended never changes
again, so "ended" checked in the DELETE's own WHERE cannot go stale.

Files go once the deletion commits (the Artifact rows take theirs, see
genhub/models/artifact.py), then the job's emptied folder. A chat answer made
by a deleted job keeps its words: they are copied into the message first
(Message.job becomes NULL; Message.text then reads `content`).
"""

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Case, TextField, Value, When

from genhub.models import Job, Message
from genhub.models.job import TERMINAL_STATUSES

log = logging.getLogger(__name__)

MAX_IDS = 500  # one request's worth; a page of the gallery is far fewer


@dataclass
class Deletion:
    deleted: list[str] = field(default_factory=list)
    active: dict[str, str] = field(default_factory=dict)  # queued or running (id: status)
    missing: list[str] = field(default_factory=list)  # no such job of this user's


STILL_ACTIVE = "The job is still {status}; cancel it first, then delete it."


def delete_jobs(owner: Any, ids: Iterable[Any]) -> Deletion:
    """Delete those of `ids` that are `owner`'s and have ended; the rest are
    reported, not deleted. Another user's job counts as missing."""
    wanted = list(dict.fromkeys(str(job_id) for job_id in ids))
    outcome = Deletion()
    with transaction.atomic():
        found = {
            str(job.pk): job
            for job in Job.objects.filter(owner=owner, pk__in=wanted).only("id", "status", "result")
        }
        ended = [job for job in found.values() if job.status in TERMINAL_STATUSES]
        _keep_answers(ended)
        Job.objects.filter(pk__in=[job.pk for job in ended], status__in=TERMINAL_STATUSES).delete()
        transaction.on_commit(lambda: _remove_folders([job.pk for job in ended]))
    for job_id in wanted:
        job = found.get(job_id)
        if job is None:
            outcome.missing.append(job_id)
        elif job.status in TERMINAL_STATUSES:
            outcome.deleted.append(job_id)
        else:
            outcome.active[job_id] = job.status
    if outcome.deleted:
        log.info("user %s deleted %d job(s)", owner.pk, len(outcome.deleted))
    return outcome


def _keep_answers(jobs: list[Job]) -> None:
    """Copy each job's answer into the chat messages it wrote, in one UPDATE."""
    texts = {
        job.pk: str(job.result.get("text", ""))
        for job in jobs
        if isinstance(job.result, dict) and job.result.get("text")
    }
    if not texts:
        return
    answers = Message.objects.filter(job__in=list(texts), role=Message.Role.ASSISTANT)
    answers.update(
        content=Case(
            *(When(job_id=pk, then=Value(text)) for pk, text in texts.items()),
            output_field=TextField(),
        )
    )


def _remove_folders(job_ids: list[Any]) -> None:
    """The job folders the artifacts' files left empty (jobs/<id>/). Storage
    without local paths has no folders to remove."""
    for job_id in job_ids:
        try:
            path = default_storage.path(f"jobs/{job_id}")
        except NotImplementedError:
            return
        try:
            os.rmdir(path)
        except OSError:
            pass  # not there (a job without files), or something else still in it
