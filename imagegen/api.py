"""POST /api/v1/images/generations: a JSON body, or a multipart form whose
`init_image` part is a file (the other fields as form fields)."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from genhub.api.auth import job_owner
from genhub.api.generations import submit_generation
from genhub.api.schemas import ErrorOut, JobOut, job_out, json_or_form_body
from genhub.request_bodies import generation_fields
from imagegen.params import ImageParams

router = Router(tags=["images"])


class ImageGenerationRequest(ImageParams):
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
    url_name="image_generate",
    openapi_extra=json_or_form_body(ImageGenerationRequest),
)
def create_generation(request: HttpRequest) -> tuple[int, dict[str, Any]]:
    # Parsed by hand, not by a ninja body parameter: one endpoint takes both JSON
    # and a file upload, and the schema checks either the same way.
    fields = generation_fields(request, ImageParams)
    model = fields.pop("model", None)
    callback_url = fields.pop("callback_url", None)
    owner = job_owner(request, "image")
    job = submit_generation(request, owner, "image", model, fields, callback_url)
    return 202, job_out(job, request)
