"""POST /api/v1/audio/generations: a JSON body, or a multipart form whose
`melody` part is a file (the other fields as form fields)."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from audiogen.params import AudioParams
from genhub.auth import caller
from genhub.jobs import submit_job
from genhub.schemas import ErrorOut, JobOut, job_out
from genhub.uploads import openapi_body, request_fields

router = Router(tags=["audio"])


class AudioGenerationRequest(AudioParams):
    model: str | None = None


@router.post(
    "/generations",
    response={202: JobOut, 422: ErrorOut, 503: ErrorOut},
    url_name="audio_generate",
    openapi_extra=openapi_body(AudioGenerationRequest),
)
def create_generation(request: HttpRequest) -> tuple[int, dict[str, Any]]:
    fields = request_fields(request, AudioParams.upload_fields)
    model = fields.pop("model", None)
    job = submit_job(caller(request), "audio", model, fields)
    return 202, job_out(job, request)
