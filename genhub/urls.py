from django.contrib import admin
from django.urls import include, path

from genhub.api import api
from genhub.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api.urls),
]
