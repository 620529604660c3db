"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

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
