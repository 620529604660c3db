"""The answers any operation of the REST API may give whatever its own code says
(401 without a valid key, 422 for a bad parameter or body, 503 while the database
or Redis is away), added to every operation of the OpenAPI document so that
clients, and tests that check answers against it, know them."""

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

_ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"title": "Detail"}},
                "required": ["detail"],
            }
        }
    }
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string"},
    }
}

UNAUTHORIZED = {"description": "No valid API key or session.", **_ERROR}
INVALID = {"description": "A parameter or the body is invalid; `detail` names each.", **_ERROR}
UNAVAILABLE = {
    "description": "The database or Redis is unreachable, or no worker serves the queue.",
    "headers": _RETRY_AFTER,
    **_ERROR,
}


class SharedResponsesAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if operation.get("security"):
                    responses.setdefault(401, UNAUTHORIZED)
                if operation.get("parameters") or operation.get("requestBody"):
                    responses.setdefault(422, INVALID)
                responses.setdefault(503, UNAVAILABLE)
        return schema
