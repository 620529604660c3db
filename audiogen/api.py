"""POST /api/v1/audio/generations: a JSON body, or a multipart form whose
`melody` part is a file (the other fields as form fields)."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from audiogen.params import AudioParams
from genhub.api.auth import job_owner
from genhub.api.generations import submit_generation
from genhub.api.schemas import ErrorOut, JobOut, job_out, json_or_form_body
from genhub.request_bodies import generation_fields

router = Router(tags=["audio"])


class AudioGenerationRequest(AudioParams):
    model: str | None = None
    callback_url: str | None = None  # POSTed the job when it ends (docs/jobs.md)


@router.post(
    "/generations",
    response={
        202: JobOut,
        403: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    url_name="audio_generate",
    openapi_extra=json_or_form_body(AudioGenerationRequest),
)
def create_generation(request: HttpRequest) -> tuple[int, dict[str, Any]]:
    fields = generation_fields(request, AudioParams)
    model = fields.pop("model", None)
    callback_url = fields.pop("callback_url", None)
    owner = job_owner(request, "audio")
    job = submit_generation(request, owner, "audio", model, fields, callback_url)
    return 202, job_out(job, request)
