from django.contrib import admin
from django.urls import include, path

from audiogen.views import audio_page
from genhub.api import api
from genhub.pages import history_page, job_page
from genhub.views import home
from imagegen.views import image_page
from textgen.views import text_page

urlpatterns = [
    path("", home, name="home"),
    path("text/", text_page, name="text"),
    path("images/", image_page, name="images"),
    path("audio/", audio_page, name="audio"),
    path("history/", history_page, name="history"),
    path("jobs/<uuid:job_id>/", job_page, name="job"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api.urls),
]
