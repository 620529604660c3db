"""POST /api/v1/images/generations: a JSON body, or a multipart form whose
`init_image` part is a file (the other fields as form fields)."""

import json
from typing import Any

from django.http import HttpRequest
from ninja import Router

from genhub.auth import caller
from genhub.errors import InvalidInput
from genhub.jobs import submit_job
from genhub.schemas import ErrorOut, JobOut, job_out
from genhub.uploads import encode
from imagegen.params import ImageParams

router = Router(tags=["images"])


class ImageGenerationRequest(ImageParams):
    model: str | None = None


_REQUEST_SCHEMA = ImageGenerationRequest.model_json_schema()


def _body(request: HttpRequest) -> dict[str, Any]:
    """The request's fields, from JSON or from a multipart form."""
    if request.content_type == "multipart/form-data":
        # An empty form field means "not given", as a browser sends it.
        fields: dict[str, Any] = {k: v for k, v in request.POST.items() if v != ""}
        upload = request.FILES.get("init_image")
        if upload is not None:
            fields["init_image"] = encode(upload.read())
        return fields
    try:
        body = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput("body", f"Malformed JSON: {error}.") from None
    if not isinstance(body, dict):
        raise InvalidInput("body", "The body must be a JSON object.")
    return body


@router.post(
    "/generations",
    response={202: JobOut, 422: ErrorOut, 503: ErrorOut},
    url_name="image_generate",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _REQUEST_SCHEMA},
                "multipart/form-data": {"schema": _REQUEST_SCHEMA},
            },
        }
    },
)
def create_generation(request: HttpRequest) -> tuple[int, dict[str, Any]]:
    # Parsed by hand, not by a ninja body parameter: one endpoint takes both JSON
    # and a file upload. The schema checks either the same way.
    fields = _body(request)
    model = fields.pop("model", None)
    if model is not None and not isinstance(model, str):
        raise InvalidInput("model", "The model must be a name (a string).")
    job = submit_job(caller(request), "image", model, fields)
    return 202, job_out(job, request)
