"""Schemathesis over the REST API (/api/v1) and the OpenAI-compatible layer
(/v1): every operation their OpenAPI documents describe, called on the live
service with a staff user's valid key, never answers a 5xx, and answers as its
document says.

Checks, and why:
- not_a_server_error: the point of this module (bad input is a 4xx, never a 5xx).
- negative_data_rejection, for bodies and path parameters: data the schema
  forbids is refused with a 4xx, as the house rule wants. Not for query strings,
  which cannot carry a type violation: the "invalid" one-item array [false] is
  sent as `?modality=false`, a valid string.
- status_code_conformance, content_type_conformance, response_schema_conformance,
  response_headers_conformance: the documents describe the real answers; each is
  a cheap look at a response already in hand.
Left out: ignored_auth, which sends every example again without the key (several
times the requests; tests/test_api_auth.py covers that), and
positive_data_acceptance, because schema-valid data is rightly refused
for reasons a schema cannot say (a model that is not registered, "exactly one
of prompt or messages", an id that does not exist: 404).

Bounds: a fixed number of examples per operation, no deadline (the server is a
separate process on a busy machine), derandomized so a failure repeats.
"""

from typing import Any

import pytest
import schemathesis
from django.test import Client as DjangoClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from genhub.models import AIModel, ApiKey
from tests.stack import WebServer, Worker


def invalid_body_or_path_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    negative = case.meta is not None and any(
        case.meta.is_negative_at(where)
        for where in (ParameterLocation.BODY, ParameterLocation.PATH)
    )
    return negative_data_rejection(ctx, response, case) if negative else None


CHECKS = [
    not_a_server_error,
    invalid_body_or_path_refused,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _fuzz(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        # The server, workers and key are shared by every example of an operation
        # on purpose; each operation starts from a fresh database (`live`).
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


def _served_schema(path: str) -> Any:
    """The document as the app serves it, or None where the app answers 404. Read
    in-process: operations are parametrized at collection, before the live
    server starts, and the server runs this same code."""
    response = DjangoClient(SERVER_NAME="127.0.0.1").get(path)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.content
    return schemathesis.openapi.from_dict(response.json())


REST = _served_schema("/api/v1/openapi.json")
OPENAI = _served_schema("/v1/openapi.json")


@pytest.fixture
def staff_key(live: WebServer, staff: Any) -> str:
    """A staff user's key, so that staff-only operations (GET /workers) are fuzzed past 403."""
    _, key = ApiKey.issue(staff)
    return key


def call(case: Any, live: WebServer, key: str) -> None:
    case.call_and_validate(
        base_url=live.url,
        headers={"Authorization": f"Bearer {key}"},
        checks=CHECKS,
        timeout=60,
    )


def test_the_openapi_documents_are_valid_and_name_the_shared_answers():
    REST.validate()
    if OPENAI is not None:
        OPENAI.validate()
    for result in REST.get_all_operations():
        operation = result.ok()
        codes = set(operation.definition.raw["responses"])
        assert "503" in codes, operation.label
        if operation.definition.raw.get("security"):  # all but GET /version
            assert "401" in codes, operation.label
        else:
            assert operation.path == "/api/v1/version", operation.label
        if operation.body or operation.query or operation.path_parameters:
            assert "422" in codes, operation.label
        if operation.path.endswith("/generations"):
            assert "429" in codes, operation.label


@pytest.mark.e2e
@REST.parametrize()
@_fuzz(examples=20)
def test_rest_api_answers_as_documented_and_never_5xx(
    case: Any, live: WebServer, staff_key: str
) -> None:
    # No workers: the jobs it makes stay queued (GENHUB_ACCEPT_WITHOUT_WORKERS).
    call(case, live, staff_key)


# The /v1 text and image endpoints wait for their jobs, so real workers run the
# tiny models. A valid request names the tiny text model (a random name is only
# a 404) and is made small (at most 8 tokens, 2 prompts, 2 choices, one 32x32
# image), so that each answer takes about a second; invalid ones are left as
# they are.
SMALL = {"max_tokens": 8, "max_completion_tokens": 8, "n": 2}


def _small(case: Any, text_model: str) -> None:
    body = case.body
    if not isinstance(body, dict) or (
        case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY)
    ):
        return
    for field, most in SMALL.items():
        if isinstance(body.get(field), int) and body[field] > most:
            body[field] = most
    if case.path in ("/v1/chat/completions", "/v1/completions"):
        body["model"] = text_model
    if case.path == "/v1/chat/completions":
        _plain_chat(body)
    if case.path == "/v1/completions" and isinstance(body.get("prompt"), list):
        body["prompt"] = body["prompt"][:2]
    if case.path == "/v1/images/generations":
        body["n"] = 1
        if body.get("size") in (None, "auto"):
            body["size"] = "32x32"


# Valid fields GenHub refuses with a 400 (tested in tests/test_openai_compat.py);
# a random valid chat almost always holds one, and would never reach a worker.
REFUSED_CHAT_FIELDS = (
    "logprobs",
    "tools",
    "functions",
    "function_call",
    "tool_choice",
    "response_format",
    "modalities",
    "audio",
    "web_search_options",
)


def _plain_chat(body: dict[str, Any]) -> None:
    for field in REFUSED_CHAT_FIELDS:
        body.pop(field, None)
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        if message.get("role") in ("tool", "function"):
            message["role"] = "user"
        for field in ("tool_calls", "function_call", "audio"):
            message.pop(field, None)
        if isinstance(message.get("content"), list):
            message["content"] = " ".join(
                str(part.get("text") or "") for part in message["content"] if isinstance(part, dict)
            )
    if not {"max_tokens", "max_completion_tokens"} & set(body):
        body["max_tokens"] = SMALL["max_tokens"]  # not the model's default of 256


if OPENAI is None:

    @pytest.mark.e2e
    @pytest.mark.skip(
        reason="/v1/openapi.json answers 404: the OpenAI-compatible layer is not mounted"
    )
    def test_openai_api_answers_as_documented_and_never_5xx() -> None:
        pass

else:

    @pytest.mark.e2e
    @OPENAI.parametrize()
    @_fuzz(examples=10)
    def test_openai_api_answers_as_documented_and_never_5xx(
        case: Any,
        live: WebServer,
        staff_key: str,
        tiny_text: AIModel,
        text_worker: Worker,
        image_worker: Worker,
    ) -> None:
        _small(case, tiny_text.name)
        call(case, live, staff_key)
