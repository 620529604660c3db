"""POST /v1/images/generations: one image job making `n` images as a batch;
the images as links to their files (the same bearer key fetches them) or as
base64 read from storage."""

import base64
import re
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router

from genhub.api.auth import job_owner
from genhub.api.generations import submit_generation
from genhub.api.openai.errors import OpenAIError
from genhub.api.openai.models import require_model
from genhub.api.openai.outcomes import JOB_HEADER, outcome_error, wait
from genhub.api.openai.schemas import ERRORS, ImageRequest, ImagesResponse
from genhub.models import Artifact, Job

router = Router(tags=["images"])

SIZE = re.compile(r"(\d{1,5})x(\d{1,5})")


def image_fields(body: ImageRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {"prompt": body.prompt, "num_images": body.n or 1}
    if body.size not in (None, "auto"):
        match = SIZE.fullmatch(body.size)
        if match is None:
            raise OpenAIError(
                400,
                f"size '{body.size}' is not WIDTHxHEIGHT in pixels (such as 512x512), or auto.",
                param="size",
            )
        fields["width"], fields["height"] = int(match[1]), int(match[2])
    return fields


def _submit(request: HttpRequest, body: ImageRequest) -> Job:
    owner = job_owner(request, "image")
    if body.model is not None:
        require_model(body.model, "image")
    return submit_generation(request, owner, "image", body.model, image_fields(body))


def _image(request: HttpRequest, image: dict[str, Any], as_base64: bool) -> dict[str, Any]:
    if as_base64:
        artifact = Artifact.objects.get(pk=image["artifact"])
        with artifact.file.open("rb") as stored:
            return {"b64_json": base64.b64encode(stored.read()).decode("ascii")}
    path = reverse("api:artifact_file", args=[image["artifact"]])
    return {"url": request.build_absolute_uri(path)}


@router.post("/generations", response={200: ImagesResponse, **ERRORS}, url_name="openai_images")
async def create_images(
    request: HttpRequest, response: HttpResponse, body: ImageRequest
) -> dict[str, Any]:
    job = await sync_to_async(_submit)(request, body)
    response[JOB_HEADER] = str(job.pk)
    (view,) = await wait([str(job.pk)])
    if (error := outcome_error(view)) is not None:
        raise error
    as_base64 = body.response_format == "b64_json"
    images = view.result.get("images") or []
    data = [await sync_to_async(_image)(request, image, as_base64) for image in images]
    return {"created": int(time.time()), "data": data}
