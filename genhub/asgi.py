"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import gc
import os

import django

from genhub.asgi_http import ThreadPoolASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genhub.settings")
django.setup(set_prefix=False)  # as get_asgi_application() does, before the imports below
# Each request's middleware chain and sync view in one trip to a pool thread
# (genhub/asgi_http.py).
django_asgi_app = ThreadPoolASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from genhub.api.ws_auth import websocket_auth  # noqa: E402
from genhub.body_limit import BodyLimit  # noqa: E402
from genhub.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Capped before Django, which would read the whole body to disk first.
        "http": BodyLimit(django_asgi_app),
        "websocket": websocket_auth(URLRouter(websocket_urlpatterns)),
    }
)


def _freeze_what_startup_made() -> None:
    """Leave the objects of startup out of every later garbage collection.

    The web process holds about 110,000 objects once Django, ninja and pydantic
    are loaded, and a full collection walks all of them: about 100 ms on a
    2-core host, seven times in 18 s of status reads (docs/benchmarks.md, "Web
    tier"), every request in the process waiting meanwhile. They live as long
    as the process, so they are frozen (gc.freeze) once the URLconf, which
    imports every view, is loaded; objects made later are collected as before."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the views now, not at the first request)
    gc.collect()
    gc.freeze()


_freeze_what_startup_made()
