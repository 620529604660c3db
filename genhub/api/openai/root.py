"""The second NinjaAPI, mounted at /v1: OpenAI's paths, and exception handlers
that all answer in OpenAI's error shape (genhub/api/openai/errors.py).
Schema at /v1/openapi.json, docs at /v1/docs."""

import json
import logging

import pydantic
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from genhub.api.auth import API_AUTH
from genhub.api.openai.chat import router as chat_router
from genhub.api.openai.completions import router as completions_router
from genhub.api.openai.errors import OpenAIError, invalid_request, param_name
from genhub.api.openai.images import router as images_router
from genhub.api.openai.models import router as models_router
from genhub.errors import BodyTooLarge, InvalidInput, QuotaExceeded
from genhub.idempotency import HEADER as IDEMPOTENCY_HEADER
from genhub.idempotency import KeyConflict, KeyTooLong
from genhub.jobs import JobConflict, NoWorkerForQueue, QueueUnavailable
from genhub.outages import DATABASE_ERRORS, REDIS_ERRORS

log = logging.getLogger(__name__)

api = NinjaAPI(
    title="GenHub OpenAI-compatible API",
    version="1",
    description=(
        "OpenAI's chat completions, completions, image generations and model list, "
        "run as GenHub jobs. Point an OpenAI client at this base URL with a GenHub API key."
    ),
    urls_namespace="openai",
    auth=API_AUTH,
    docs_url="/docs",
)


@api.exception_handler(OpenAIError)
def openai_error(request: HttpRequest, exc: OpenAIError) -> HttpResponse:
    response = api.create_response(request, exc.body(), status=exc.status)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    if exc.retry is not None:
        response["x-should-retry"] = "true" if exc.retry else "false"
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _answer(request: HttpRequest, error: OpenAIError) -> HttpResponse:
    return openai_error(request, error)


@api.exception_handler(NinjaValidationError)
def invalid_body(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _answer(request, invalid_request(exc.errors))


@api.exception_handler(pydantic.ValidationError)
def invalid_params(request: HttpRequest, exc: pydantic.ValidationError) -> HttpResponse:
    # Raised when submit_job checks the params again with the model's defaults.
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    return _answer(request, invalid_request(dict(error) for error in errors))


@api.exception_handler(InvalidInput)
def invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    param = None if exc.field == "body" else param_name(exc.loc)
    return _answer(request, OpenAIError(400, exc.message, param=param))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, json.JSONDecodeError):
        msg = f"Malformed JSON: {cause.msg} at line {cause.lineno}, column {cause.colno}."
        return _answer(request, OpenAIError(400, msg))
    if exc.status_code == 400 and cause is not None:
        return _answer(request, OpenAIError(400, f"The request body could not be read: {cause}."))
    kinds = {403: "permission_error", 404: "not_found_error", 409: "conflict_error"}
    kind = kinds.get(exc.status_code, "invalid_request_error")
    return _answer(request, OpenAIError(exc.status_code, str(exc), type=kind))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    message = str(exc) or "Not found."
    return _answer(request, OpenAIError(404, message, type="not_found_error"))


@api.exception_handler(AuthenticationError)
def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if request.headers.get("Authorization"):
        message, code = "Incorrect API key provided. Create one on /account/.", "invalid_api_key"
    else:
        message, code = (
            "You didn't provide an API key. Send `Authorization: Bearer <key>` "
            "(create a key on your account page, /account/).",
            None,
        )
    response = _answer(request, OpenAIError(401, message, code=code))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(QuotaExceeded)
def quota_exceeded(request: HttpRequest, exc: QuotaExceeded) -> HttpResponse:
    # The compute budget is spent for the day; the others clear within minutes.
    kind = "insufficient_quota" if exc.limit == "compute_seconds_per_day" else "rate_limit_exceeded"
    error = OpenAIError(429, exc.message, type=kind, code=kind, retry_after=exc.retry_after)
    return _answer(request, error)


@api.exception_handler(NoWorkerForQueue)
def no_worker_for_queue(request: HttpRequest, exc: NoWorkerForQueue) -> HttpResponse:
    error = OpenAIError(503, str(exc), type="server_error", code="no_worker", retry_after=30)
    return _answer(request, error)


@api.exception_handler(QueueUnavailable)
def queue_unavailable(request: HttpRequest, exc: QueueUnavailable) -> HttpResponse:
    message = "The job queue is unreachable, so the job was not queued. Try again shortly."
    error = OpenAIError(503, message, type="server_error", code="queue_unavailable", retry_after=30)
    return _answer(request, error)


@api.exception_handler(JobConflict)
@api.exception_handler(KeyConflict)
def conflict(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _answer(request, OpenAIError(409, str(exc), type="conflict_error", retry=False))


@api.exception_handler(KeyTooLong)
def idempotency_key_too_long(request: HttpRequest, exc: KeyTooLong) -> HttpResponse:
    return _answer(request, OpenAIError(400, str(exc), param=IDEMPOTENCY_HEADER))


@api.exception_handler(BodyTooLarge)
def body_too_large(request: HttpRequest, exc: BodyTooLarge) -> HttpResponse:
    return _answer(request, OpenAIError(413, str(exc)))


@api.exception_handler(RequestDataTooBig)
@api.exception_handler(TooManyFieldsSent)
@api.exception_handler(TooManyFilesSent)
@api.exception_handler(MultiPartParserError)
def unreadable_body(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _answer(request, OpenAIError(400, f"The request body could not be read: {exc}."))


@api.exception_handler(Exception)
def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if isinstance(exc, DATABASE_ERRORS + REDIS_ERRORS):
        # The database or Redis went away mid-request: retry, not a bug.
        message = "GenHub's database or Redis is unreachable right now. Try again shortly."
        error = OpenAIError(503, message, type="server_error", retry_after=5)
        return _answer(request, error)
    log.exception("unexpected error on %s", request.path)
    return _answer(request, OpenAIError(500, "Internal server error.", type="server_error"))


api.add_router("/models", models_router)
api.add_router("/chat", chat_router)
api.add_router("/completions", completions_router)
api.add_router("/images", images_router)
