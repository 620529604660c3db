"""Whether a browser's WebSocket was opened by GenHub's own pages.

Channels' AllowedHostsOriginValidator compares only the Origin's host with
ALLOWED_HOSTS, so a page served by any other app on the same host (another port)
could open a socket that rides on the session cookie. Here the whole origin
(scheme, host and port) must equal the origin of the page GenHub serves at the
Host the browser asked for, or be one of GENHUB_ALLOWED_ORIGINS.
"""

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from genhub.api.consumers import CLOSE_FORBIDDEN, RefusingConsumer

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, host, port

_refuse = RefusingConsumer.as_asgi(close_code=CLOSE_FORBIDDEN)


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of `https://example.com[:port]`, with the scheme's
    default port filled in; None for `null` or anything that is not http(s)."""
    try:
        parts = urlsplit(value.strip().lower())
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except (ValueError, KeyError):  # a bad port, or no or another scheme
        return None
    if not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port


def page_origin(scope: dict[str, Any]) -> Origin | None:
    """The origin of GenHub's own pages as this connection reaches them: the Host
    it asked for, which must be one of ALLOWED_HOSTS (or the socket could come
    from any name that resolves here), and the scheme the browser used."""
    headers = dict(scope.get("headers", []))
    host = headers.get(b"host", b"").decode("latin-1")
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:  # as Django's HttpRequest.get_host does
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    return parse_origin(f"{_page_scheme(scope, headers)}://{host}")


def _page_scheme(scope: dict[str, Any], headers: dict[bytes, bytes]) -> str:
    # Behind a TLS-terminating proxy the socket itself is plain ws; the proxy's
    # header says what the browser used, read the way Django reads it for HTTP.
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
        value = headers.get(name)
        if value is not None:
            first = value.decode("latin-1").split(",", 1)[0].strip()
            return "https" if first == secure_value else "http"
    return "https" if scope.get("scheme") == "wss" else "http"


def origin_allowed(scope: dict[str, Any]) -> bool:
    """True when the connection's Origin is GenHub's own page origin or one of
    GENHUB_ALLOWED_ORIGINS, and its Host is one of ALLOWED_HOSTS."""
    own = page_origin(scope)
    origin = parse_origin(dict(scope.get("headers", [])).get(b"origin", b"").decode("latin-1"))
    if own is None or origin is None:
        return False
    if origin == own:
        return True
    return origin in {parse_origin(allowed) for allowed in settings.GENHUB_ALLOWED_ORIGINS}


class SameOriginValidator:
    """Refuses a WebSocket from any origin but GenHub's own (see origin_allowed)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if origin_allowed(scope):
            return await self.inner(scope, receive, send)
        # A misconfigured proxy (Host or scheme rewritten) shows up here first.
        headers = dict(scope.get("headers", []))
        log.warning(
            "WebSocket refused: origin %r is not this site's (host %r)",
            headers.get(b"origin", b"").decode("latin-1"),
            headers.get(b"host", b"").decode("latin-1"),
        )
        return await _refuse(scope, receive, send)
