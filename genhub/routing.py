from django.urls import path, re_path

from genhub.api.consumers import JobConsumer, RefusingConsumer

websocket_urlpatterns = [
    path("ws/jobs/<uuid:job_id>/", JobConsumer.as_asgi()),
    # Last: any other path is refused with 4404; without it URLRouter raises
    # ValueError, a traceback for every mistyped or probing URL.
    re_path(r"", RefusingConsumer.as_asgi()),
]
