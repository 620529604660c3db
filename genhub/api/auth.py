"""Who is calling: an API key (`Authorization: Bearer gh_...`) or the browser session."""

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from genhub.models import ApiKey


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        key = ApiKey.authenticate(token)
        return key.user if key else None


def user_for_bearer_header(value: str) -> Any:
    """The user behind an `Authorization` header value, or None."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    key = ApiKey.authenticate(token.strip())
    return key.user if key else None


API_AUTH = [ApiKeyAuth(), django_auth]


def caller(request: HttpRequest) -> Any:
    """The user ninja authenticated for this request (by key or session)."""
    return request.auth  # type: ignore[attr-defined]
