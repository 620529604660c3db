"""The colour theme a person picked in the header: System, Light or Dark.

It lives in a cookie that the server reads to write `data-theme` on <html>
(base.html), so a page arrives in its theme with no flash of the other one, on
every page and after a reload. No attribute: follow the system's
prefers-color-scheme. With JavaScript, genhub.js sets the same cookie and the
attribute at once; without it the switch posts here and comes back.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

COOKIE = "genhub_theme"  # static/js/genhub.js writes it too
CHOSEN = ("light", "dark")  # "system" is the cookie's absence
A_YEAR = 365 * 24 * 3600


def theme(request: HttpRequest) -> dict[str, Any]:
    """A context processor: `theme`, "light", "dark" or "" (follow the system)."""
    chosen = request.COOKIES.get(COOKIE, "")
    return {"theme": chosen if chosen in CHOSEN else ""}


@require_POST
def set_theme(request: HttpRequest) -> HttpResponse:
    chosen = request.POST.get("theme", "")
    if chosen not in (*CHOSEN, "system"):
        return HttpResponseBadRequest("theme: choose system, light or dark.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "/"
    response = redirect(back)
    if chosen == "system":
        response.delete_cookie(COOKIE)
    else:
        # Not HttpOnly: the page's script changes it without a request.
        response.set_cookie(
            COOKIE, chosen, max_age=A_YEAR, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE
        )
    return response
