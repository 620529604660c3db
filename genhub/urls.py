"""The URLs: pages (one per registered modality, drawn from the registry), the
admin, the REST API under /api/v1. WebSockets are routed in genhub/routing.py."""

from django.contrib import admin
from django.urls import include, path

from genhub import modalities
from genhub.api.openai.root import api as openai_api
from genhub.api.root import api
from genhub.web.account import account_page, revoke_key
from genhub.web.history import delete_from_history, history_page
from genhub.web.theme import set_theme
from genhub.web.views import home, job_answer, job_page

urlpatterns = [
    path("", home, name="home"),
    *(path(m.page_path, m.page, name=m.page_name) for m in modalities.all_modalities()),
    path("history/", history_page, name="history"),
    path("history/delete/", delete_from_history, name="history_delete"),
    path("jobs/<uuid:job_id>/", job_page, name="job"),
    path("jobs/<uuid:job_id>/answer.txt", job_answer, name="job_answer"),
    path("account/", account_page, name="account"),
    path("account/keys/<int:key_id>/revoke/", revoke_key, name="revoke_key"),
    path("theme/", set_theme, name="theme"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api.urls),
    path("v1/", openai_api.urls),  # OpenAI-compatible (docs/openai.md)
]
