"""POST /api/v1/text/generations."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from pydantic import ConfigDict, JsonValue

from genhub.api.auth import job_owner
from genhub.api.generations import submit_generation
from genhub.api.schemas import ErrorOut, JobOut, job_out
from textgen.params import TextParams

router = Router(tags=["text"])


# The docs' "Try it out" sends this as it is, so it must be a valid request: the
# example generated from the schema would give both `prompt` and `messages`.
EXAMPLE: dict[str, JsonValue] = {"prompt": "The capital of France is", "max_new_tokens": 32}


class TextGenerationRequest(TextParams):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    model: str | None = None
    callback_url: str | None = None  # POSTed the job when it ends (docs/jobs.md)


@router.post(
    "/generations",
    response={
        202: JobOut,
        403: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    url_name="text_generate",
    openapi_extra={"requestBody": {"content": {"application/json": {"example": EXAMPLE}}}},
)
def create_generation(
    request: HttpRequest, body: TextGenerationRequest
) -> tuple[int, dict[str, Any]]:
    params = body.model_dump(exclude={"model", "callback_url"}, exclude_unset=True)
    owner = job_owner(request, "text")
    job = submit_generation(request, owner, "text", body.model, params, body.callback_url)
    return 202, job_out(job, request)
