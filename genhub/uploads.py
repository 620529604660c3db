"""Files that come with a request (an init image, a melody clip).

A request carries a file as a base64 string or a data URL in JSON, or as a part
of a multipart form. Either way it is checked before the job exists, then kept
as an input Artifact of the job, and the job's params name it as
`artifact:<id>`: params stay small, and what was submitted is never lost.
A request may also name an artifact of its owner's (an earlier result) that way.
"""

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from pydantic import BaseModel

from genhub.errors import InvalidInput

ARTIFACT_REF = re.compile(r"^artifact:([0-9a-fA-F-]{36})$")
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(;[\w=.+-]+)*;base64,", re.ASCII)


def artifact_id(value: str) -> uuid.UUID | None:
    """The artifact id of an `artifact:<uuid>` reference, or None."""
    match = ARTIFACT_REF.match(value)
    if not match:
        return None
    try:
        return uuid.UUID(match.group(1))
    except ValueError:
        return None


def decode(value: str) -> bytes:
    """The bytes of a base64 string or a base64 data URL. ValueError says why not."""
    limit = settings.GENHUB_MAX_UPLOAD_BYTES
    payload = _DATA_URL.sub("", value, count=1)
    if len(payload) > limit * 4 // 3 + 4:
        raise ValueError(f"the file is over the {limit // 2**20} MiB upload limit")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not a base64 string or a data URL (data:<type>;base64,...)") from None
    if not data:
        raise ValueError("the file is empty")
    return data


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def request_fields(request: HttpRequest, upload_fields: tuple[str, ...]) -> dict[str, Any]:
    """A generation request's fields, from a JSON body or a form (a page's form
    posts one) whose file parts (`upload_fields`) are read as base64, so one
    schema checks both."""
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # An empty form field means "not given", as a browser sends it.
        fields: dict[str, Any] = {k: v for k, v in request.POST.items() if v != ""}
        for name in upload_fields:
            upload = request.FILES.get(name)
            if upload is not None:
                if upload.size and upload.size > settings.GENHUB_MAX_UPLOAD_BYTES:
                    limit = settings.GENHUB_MAX_UPLOAD_BYTES // 2**20
                    raise InvalidInput(name, f"the file is over the {limit} MiB upload limit")
                fields[name] = encode(upload.read())
        return fields
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise InvalidInput("body", f"Malformed JSON: {error}.") from None
    if not isinstance(body, dict):
        raise InvalidInput("body", "The body must be a JSON object.")
    return body


def openapi_body(schema: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for an endpoint that takes `schema` as JSON or as a form."""
    described = schema.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": described},
                "multipart/form-data": {"schema": described},
            },
        }
    }


def check_reference(value: str, info: Any, kind: str) -> Any:
    """The Artifact an `artifact:<id>` reference names, checked against the caller
    and against `kind` (a mime type prefix such as "image/"), when validation is
    given a caller (on submit). On the worker, params were checked at submit:
    returns None there."""
    ref = artifact_id(value)
    if ref is None:
        raise ValueError("not an artifact reference (artifact:<id>)")
    owner = (info.context or {}).get("owner")
    if owner is None:
        return None
    from genhub.models import Artifact

    artifact = Artifact.objects.visible_to(owner).filter(pk=ref).first()
    if artifact is None:
        raise ValueError(f"no artifact {ref} among your jobs' files")
    if not artifact.mime_type.startswith(kind):
        raise ValueError(f"artifact {ref} is {artifact.mime_type}, not {kind.rstrip('/')}")
    return artifact


@dataclass(frozen=True)
class Upload:
    """A checked file from a request, to be kept as an input artifact."""

    data: bytes
    mime_type: str
    extension: str
    fields: dict[str, Any] = field(default_factory=dict)  # width, height, duration...
