from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from genhub.models import AIModel


def home(request: HttpRequest) -> HttpResponse:
    models = AIModel.objects.enabled()
    return render(request, "home.html", {"models": models})
