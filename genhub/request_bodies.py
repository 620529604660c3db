"""Reading a generation request's fields from its body: JSON, or a form (a page's
form posts one; API clients send files as multipart parts). Either way the result
goes to the same params schema, once.

Used by the API and the pages alike; it reads the request, it stores nothing.
"""

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from genhub.errors import BodyTooLarge, InvalidInput
from genhub.params import GenerationParams
from genhub.uploads import ReceivedFile

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# What Django raises while reading a body it will not take; see `body_error`.
BODY_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, MultiPartParserError)


def generation_fields(request: HttpRequest, schema: type[GenerationParams]) -> dict[str, Any]:
    """The request's fields, for `schema`: a file part of a form becomes a
    ReceivedFile (its bytes as they came) under its field name."""
    try:
        if request.content_type in FORM_TYPES:
            return _form_fields(request, schema.upload_fields)
        body = json.loads(request.body or b"null")
    except BODY_ERRORS as error:
        raise body_error(error) from None
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise InvalidInput("body", f"Malformed JSON: {error}.") from None
    if not isinstance(body, dict):
        raise InvalidInput("body", "The body must be a JSON object.")
    return body


def body_error(error: Exception) -> BodyTooLarge | InvalidInput:
    """What to answer for one of BODY_ERRORS, in words: 413 for a body over the
    limit, otherwise a 422 about the body."""
    if isinstance(error, RequestDataTooBig):
        return BodyTooLarge()
    if isinstance(error, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return InvalidInput("body", f"The form has more than {limit} fields.")
    if isinstance(error, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return InvalidInput("body", f"The form has more than {limit} files.")
    # Django's own wording can carry Python values ("Invalid boundary: None").
    return InvalidInput(
        "body",
        "The multipart body could not be read: check its Content-Type boundary and parts, "
        "or send JSON.",
    )


def _form_fields(request: HttpRequest, upload_fields: tuple[str, ...]) -> dict[str, Any]:
    # An empty form field means "not given", as a browser sends it.
    fields: dict[str, Any] = {k: v for k, v in request.POST.items() if v != ""}
    for name in request.FILES:
        if name not in upload_fields:
            known = ", ".join(upload_fields) or "none"
            raise InvalidInput(name, f"No file is expected under '{name}' (file fields: {known}).")
        upload = request.FILES.get(name)
        if upload is None:
            continue
        if upload.size and upload.size > settings.GENHUB_MAX_UPLOAD_BYTES:
            limit = settings.GENHUB_MAX_UPLOAD_BYTES // 2**20
            raise InvalidInput(name, f"The file is over the {limit} MiB upload limit.")
        fields[name] = ReceivedFile(upload.read(), upload.name or "")
    return fields
