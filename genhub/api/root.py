"""The one NinjaAPI: auth, error handlers, and the routers of the core and of
each registered modality. Mounted at /api/v1, docs at /api/v1/docs."""

import json

import pydantic
import redis
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

import genhub
from genhub import modalities
from genhub.api.account import router as account_router
from genhub.api.artifacts import router as artifacts_router
from genhub.api.auth import API_AUTH, NOT_AUTHENTICATED
from genhub.api.conversations import router as conversations_router
from genhub.api.jobs import router as jobs_router
from genhub.api.models import router as models_router
from genhub.api.shared_responses import SharedResponsesAPI
from genhub.api.workers import router as workers_router
from genhub.error_messages import readable_errors
from genhub.errors import BodyTooLarge, InvalidInput, QuotaExceeded
from genhub.idempotency import HEADER as IDEMPOTENCY_HEADER
from genhub.idempotency import KeyConflict, KeyTooLong
from genhub.jobs import JobConflict, NoWorkerForQueue, QueueUnavailable
from genhub.outages import unavailable
from genhub.request_bodies import body_error

api = SharedResponsesAPI(
    title="GenHub API",
    version="1",
    description="Text, image and audio generation on your own hardware.",
    urls_namespace="api",
    auth=API_AUTH,
    docs_url="/docs",
)


def _invalid(request: HttpRequest, errors: list[dict]) -> HttpResponse:
    return api.create_response(request, {"detail": errors}, status=422)


@api.exception_handler(InvalidInput)
def invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    # The field "body" is the body as a whole, which every `loc` starts with.
    loc = ["body"] if exc.field == "body" else ["body", *exc.loc]
    return _invalid(request, [{"type": "invalid", "loc": loc, "msg": exc.message}])


@api.exception_handler(BodyTooLarge)
def body_too_large(request: HttpRequest, exc: BodyTooLarge) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=413)


@api.exception_handler(RequestDataTooBig)
@api.exception_handler(TooManyFieldsSent)
@api.exception_handler(TooManyFilesSent)
@api.exception_handler(MultiPartParserError)
def unreadable_body(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Django raises these while reading a body (ninja reads the text endpoint's
    # itself); answer in JSON, as for any other bad request, not with its 400 page.
    return api.on_exception(request, body_error(exc))


@api.exception_handler(pydantic.ValidationError)
def invalid_params(request: HttpRequest, exc: pydantic.ValidationError) -> HttpResponse:
    # Raised when request params are checked again with the model's defaults applied.
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    return _invalid(request, readable_errors({**e, "loc": ["body", *e["loc"]]} for e in errors))


@api.exception_handler(NinjaValidationError)
def invalid_body(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    # A body ninja parsed itself (the text endpoint); the same sentences as above.
    return _invalid(request, readable_errors(exc.errors))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja answers a body it cannot parse with a bare 400; say what is wrong, as
    # for any other invalid field.
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, json.JSONDecodeError):
        msg = f"Malformed JSON: {cause.msg} at line {cause.lineno}, column {cause.colno}."
        return _invalid(request, [{"type": "json_invalid", "loc": ["body"], "msg": msg}])
    if exc.status_code == 400 and cause is not None:
        msg = f"The request body could not be read: {cause}."
        return _invalid(request, [{"type": "body_invalid", "loc": ["body"], "msg": msg}])
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(AuthenticationError)
def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # ninja's bare "Unauthorized" does not say which credentials this API takes.
    response = api.create_response(request, {"detail": NOT_AUTHENTICATED}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(JobConflict)
def job_conflict(request: HttpRequest, exc: JobConflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(KeyConflict)
def idempotency_conflict(request: HttpRequest, exc: KeyConflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(KeyTooLong)
def idempotency_key_too_long(request: HttpRequest, exc: KeyTooLong) -> HttpResponse:
    loc = ["header", IDEMPOTENCY_HEADER]
    return _invalid(request, [{"type": "string_too_long", "loc": loc, "msg": str(exc)}])


@api.exception_handler(QueueUnavailable)
def queue_unavailable(request: HttpRequest, exc: QueueUnavailable) -> HttpResponse:
    detail = "The job queue is unreachable, so the job was not queued. Try again shortly."
    response = api.create_response(request, {"detail": detail}, status=503)
    response["Retry-After"] = "30"
    return response


@api.exception_handler(NoWorkerForQueue)
def no_worker_for_queue(request: HttpRequest, exc: NoWorkerForQueue) -> HttpResponse:
    response = api.create_response(request, {"detail": str(exc)}, status=503)
    response["Retry-After"] = "30"  # about when a starting worker has reported in
    return response


@api.exception_handler(QuotaExceeded)
def quota_exceeded(request: HttpRequest, exc: QuotaExceeded) -> HttpResponse:
    body = {"detail": exc.message, "limit": exc.limit, "retry_after": exc.retry_after}
    response = api.create_response(request, body, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
@api.exception_handler(redis.ConnectionError)
@api.exception_handler(redis.TimeoutError)
def service_unreachable(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The database or Redis went away mid-request: a 503 that says to retry, not a
    # 500 (ninja would re-raise it, or show a traceback with DEBUG on).
    response = unavailable(request, exc)
    assert response is not None  # each class above is one `unavailable` answers
    return response


class VersionOut(Schema):
    version: str
    api: str


@api.get("/version", auth=None, response=VersionOut, url_name="version", tags=["service"])
def version(request: HttpRequest) -> dict[str, str]:
    """GenHub's version and the API's, with no key and no query: a client or a
    script checks what it talks to before it sends work."""
    return {"version": genhub.__version__, "api": api.version}


api.add_router("/jobs", jobs_router)
api.add_router("/models", models_router)
api.add_router("/artifacts", artifacts_router)
api.add_router("/workers", workers_router)
api.add_router("/account", account_router)
api.add_router("/conversations", conversations_router)
for modality in modalities.all_modalities():
    api.add_router(modality.api_prefix, modality.router)
