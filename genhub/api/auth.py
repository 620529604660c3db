"""Who is calling: an API key (`Authorization: Bearer gh_...`) or the browser session."""

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth
from ninja.utils import check_csrf

from genhub.models import ApiKey

NOT_AUTHENTICATED = (
    "Authentication required: send `Authorization: Bearer <key>` "
    "(create a key on your account page, /account/), or log in."
)


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        key = ApiKey.authenticate(token)
        # The key itself, for its scopes (see job_owner); None means the session.
        request.api_key = key  # type: ignore[attr-defined]
        return key.user if key else None


class SessionAuth(NinjaSessionAuth):
    """The browser session, with CSRF checked only once a session user is found.

    ninja's own cookie auth checks CSRF before it looks for a user, so a POST with
    no credentials, or with a wrong key, got "403 CSRF check Failed" instead of a
    401. CSRF protects a browser's ambient cookie; a request without a logged-in
    session carries nothing to forge, and a bearer key is never sent by a browser
    on its own.
    """

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated:
            return None
        request.api_key = None  # type: ignore[attr-defined]
        if check_csrf(request):
            raise HttpError(
                403,
                "CSRF check failed: a browser session must send the `csrftoken` cookie's "
                "value in the `X-CSRFToken` header.",
            )
        return user


def user_for_bearer_header(value: str) -> Any:
    """The user behind an `Authorization` header value, or None."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    key = ApiKey.authenticate(token.strip())
    return key.user if key else None


# The key first: a client that sends a valid key never needs a CSRF token.
API_AUTH = [ApiKeyAuth(), SessionAuth()]


def caller(request: HttpRequest) -> Any:
    """The user ninja authenticated for this request (by key or session)."""
    return request.auth  # type: ignore[attr-defined]


def job_owner(request: HttpRequest, modality: str) -> Any:
    """The caller, who will own a new job of `modality`: 403 when the request's
    key is scoped to other modalities. A browser session may use every modality."""
    key: ApiKey | None = request.api_key  # type: ignore[attr-defined]
    if key is not None and not key.allows(modality):
        raise HttpError(
            403,
            f"This API key may not create {modality} jobs; "
            f"it is limited to: {', '.join(key.scopes)}.",
        )
    return caller(request)
