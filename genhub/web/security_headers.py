"""The Content-Security-Policy header on every response.

The pages load scripts only from /static/ (no inline script, no on*= handlers;
tests/test_production_settings.py scans the templates), so injected markup
cannot run code. The API docs qualify too: ninja passes swagger's settings in a
JSON data block and starts it from its own static file.
"""

from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # The admin and swagger set style attributes.
        "style-src 'self' 'unsafe-inline'",
        # Live image previews are data: URLs; the API docs show file responses as blobs.
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        # API calls and the job WebSocket: 'self' covers ws:// and wss:// on this
        # host and port (CSP level 3), and nothing else.
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


class SecurityHeadersMiddleware(MiddlewareMixin):
    """Adds the policy unless a view set its own. MiddlewareMixin makes it work
    under both WSGI and ASGI without a thread hop."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
