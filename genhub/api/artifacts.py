"""GET /artifacts/{id}, its file and its thumbnail: for the job's owner or an operator.

There is no listing of files: they are reached through a job, and another
user's artifact answers 404, like a missing one. A file downloads under a name
made from its job's prompt and seed (genhub/download_names.py); `?download=1`
asks for it as an attachment rather than shown in the browser.
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
from ninja import Query, Router

from genhub.api.auth import caller
from genhub.api.file_responses import serve_file
from genhub.api.schemas import ArtifactOut, ErrorOut, artifact_out
from genhub.download_names import artifact_download_name, content_disposition
from genhub.models import Artifact
from genhub.thumbnails import ensure_thumbnail

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
    request: HttpRequest,
    artifact_id: UUID,
    download: bool = Query(False, description="Send it as an attachment, to be saved."),
) -> HttpResponse | FileResponse | StreamingHttpResponse:
    artifact = get_object_or_404(
        Artifact.objects.visible_to(caller(request)).select_related("job"), pk=artifact_id
    )
    response = serve_file(request, artifact.file, artifact.mime_type)
    siblings = Artifact.objects.filter(job_id=artifact.job_id, role=artifact.role).count()
    name = artifact_download_name(artifact, artifact.job.prompt, siblings)
    response["Content-Disposition"] = content_disposition(name, attachment=download)
    return response


@router.get(
    "/{artifact_id}/thumbnail", response={200: None, 404: ErrorOut}, url_name="artifact_thumbnail"
)
def get_artifact_thumbnail(
    request: HttpRequest, artifact_id: UUID
) -> HttpResponse | FileResponse | StreamingHttpResponse:
    artifact = _visible_artifact(request, artifact_id)
    if not ensure_thumbnail(artifact):  # an image stored without one gets it now
        raise Http404("This file has no thumbnail.")
    kind = mimetypes.guess_type(artifact.thumbnail.name or "")[0] or "application/octet-stream"
    return serve_file(request, artifact.thumbnail, kind)
