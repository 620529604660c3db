"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genhub.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the imports below

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
