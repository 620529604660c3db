"""GET /artifacts/{id}, its file and its thumbnail: for the job's owner or an operator.

There is no listing of files: they are reached through a job, and another
user's artifact answers 404, like a missing one.
"""

import mimetypes
from typing import Any
from uuid import UUID

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from ninja import Router

from genhub.api.auth import caller
from genhub.api.file_responses import serve_file
from genhub.api.schemas import ArtifactOut, ErrorOut, artifact_out
from genhub.models import Artifact

router = Router(tags=["artifacts"])


def _visible_artifact(request: HttpRequest, artifact_id: UUID) -> Artifact:
    return get_object_or_404(Artifact.objects.visible_to(caller(request)), pk=artifact_id)


@router.get("/{artifact_id}", response={200: ArtifactOut, 404: ErrorOut}, url_name="artifact")
def get_artifact(request: HttpRequest, artifact_id: UUID) -> dict[str, Any]:
    return artifact_out(_visible_artifact(request, artifact_id), request)


@router.get(
    "/{artifact_id}/file",
    response={200: None, 206: None, 404: ErrorOut, 416: None},
    url_name="artifact_file",
)
def get_artifact_file(
    request: HttpRequest, artifact_id: UUID
) -> HttpResponse | FileResponse | StreamingHttpResponse:
    artifact = _visible_artifact(request, artifact_id)
    response = serve_file(request, artifact.file, artifact.mime_type)
    name = (artifact.file.name or "").rsplit("/", 1)[-1]
    response["Content-Disposition"] = f'inline; filename="{artifact.job_id}-{name}"'
    return response


@router.get(
    "/{artifact_id}/thumbnail", response={200: None, 404: ErrorOut}, url_name="artifact_thumbnail"
)
def get_artifact_thumbnail(
    request: HttpRequest, artifact_id: UUID
) -> HttpResponse | FileResponse | StreamingHttpResponse:
    artifact = _visible_artifact(request, artifact_id)
    if not artifact.thumbnail:
        raise Http404("This file has no thumbnail.")
    kind = mimetypes.guess_type(artifact.thumbnail.name or "")[0] or "application/octet-stream"
    return serve_file(request, artifact.thumbnail, kind)
