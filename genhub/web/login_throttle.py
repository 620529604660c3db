"""Login throttling with django-axes: after GENHUB_LOGIN_FAILURE_LIMIT wrong
passwords for one account from one address, that pair is refused for
GENHUB_LOGIN_LOCKOUT_MINUTES, on the site's login page and the admin's.

API keys never pass through authenticate(), so axes does not see them.
"""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check before the password check, for logins made over HTTP.

    authenticate() without a request (the test client's login(), a shell) has no
    address to count failures against, and axes would raise; it goes on to the
    password check unthrottled. Both login views pass their request.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_message() -> str:
    minutes = settings.GENHUB_LOGIN_LOCKOUT_MINUTES
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed logins for this account from your address. Try again in {minutes} {unit}."
    )


def lockout_response(request: HttpRequest, *_ignored: Any) -> HttpResponse:
    """The login page again, saying for how long (AXES_LOCKOUT_CALLABLE).

    Axes passes (request, response, credentials) from a sync request but
    (request, credentials) from an async one, so this reads neither.
    """
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    context = {"form": form, "lockout": lockout_message(), "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)
