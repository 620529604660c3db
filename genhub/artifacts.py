"""Keeping the files jobs make and are given: written to media storage first,
recorded as an Artifact row after, so a row never names a half-written file."""

import logging
from functools import cache
from typing import Any
from uuid import UUID

from django.core.files.base import ContentFile
from django.urls import get_script_prefix, reverse

from genhub.errors import JobError
from genhub.models import Artifact, Job
from genhub.uploads import FileInput, Upload

log = logging.getLogger(__name__)


def store_input_file(job: Job, field: str, upload: Upload) -> Artifact:
    artifact = Artifact(
        job=job,
        role=Artifact.Role.INPUT,
        field=field,
        mime_type=upload.mime_type,
        bytes=len(upload.data),
        **upload.fields,
    )
    artifact.file.save(f"input-{field}.{upload.extension}", ContentFile(upload.data), save=False)
    artifact.save()
    return artifact


def save_output(
    job: Job,
    index: int,
    data: bytes,
    *,
    mime_type: str,
    extension: str,
    thumbnail: bytes | None = None,
    thumbnail_extension: str = "jpg",
    **fields: Any,
) -> Artifact:
    """Write one result file (and its thumbnail: a small JPEG of an image, the
    waveform PNG of a clip) and record it."""
    artifact = Artifact(
        job=job,
        role=Artifact.Role.OUTPUT,
        index=index,
        attempt=job.attempts,
        mime_type=mime_type,
        bytes=len(data),
    )
    for key, value in fields.items():
        setattr(artifact, key, value)
    stem = f"{job.modality}-{index}"
    artifact.file.save(f"{stem}.{extension}", ContentFile(data), save=False)
    if thumbnail is not None:
        name = f"{stem}-thumb.{thumbnail_extension}"
        artifact.thumbnail.save(name, ContentFile(thumbnail), save=False)
    artifact.save()
    return artifact


def discard_outputs(job: Job, this_attempt_too: bool = False) -> int:
    """Delete what other attempts of the job made. Called when an attempt starts
    (a job run again after its worker died starts with no results) and when it
    succeeds (a presumed-dead attempt may have saved files after that start).
    `this_attempt_too`: a run of this attempt starts again from nothing (a job
    whose batch failed runs again alone)."""
    outputs = job.artifacts.filter(role=Artifact.Role.OUTPUT)
    earlier = list(outputs if this_attempt_too else outputs.exclude(attempt=job.attempts))
    for artifact in earlier:
        artifact.delete()  # its files go with it (see models/artifact.py)
    if earlier:
        log.info("job %s: removed %d file(s) of an earlier attempt", job.id, len(earlier))
    return len(earlier)


def read_input_file(value: FileInput, what: str) -> tuple[Artifact, bytes]:
    """The artifact a file param names (the worker sees `artifact:<id>` only), and
    its bytes. A JobError names `what` ("the init image") when it is gone."""
    try:
        if value.artifact_id is None:
            raise Artifact.DoesNotExist("never stored")
        artifact = Artifact.objects.get(pk=value.artifact_id)
        with artifact.file.open("rb") as stored:
            return artifact, stored.read()
    except (Artifact.DoesNotExist, OSError) as error:
        log.warning("input file %s is gone: %s", value.artifact_id, error)
        raise JobError(f"{what.capitalize()} is no longer stored; send it again.") from None


def links(artifact: Artifact) -> dict[str, str | None]:
    """Paths on this server (the worker knows no host name); clients resolve them
    against the API's address, as a browser does."""
    # Every artifact of every status read and page has these, and reverse() costs
    # as much as the rest of an artifact's answer: the route is found once (a
    # test holds these paths to reverse's).
    base = f"{get_script_prefix()}{_artifacts_route()}/{artifact.pk}"
    thumbnail = f"{base}/thumbnail" if artifact.thumbnail else None
    return {"url": f"{base}/file", "thumbnail_url": thumbnail}


_ANY_ID = UUID(int=0)


@cache
def _artifacts_route() -> str:
    """The path of the artifacts after the script prefix ("api/v1/artifacts"): an
    artifact's file is this and "/<id>/file", its thumbnail "/<id>/thumbnail"
    (genhub/api/artifacts.py)."""
    path = reverse("api:artifact", args=[_ANY_ID]).removeprefix(get_script_prefix())
    return path.removesuffix(f"/{_ANY_ID}")
