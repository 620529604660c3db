"""A context processor: the nav bar's entries, drawn from the modality registry."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from genhub import modalities


def nav(request: HttpRequest) -> dict[str, Any]:
    return {
        "nav_modalities": [
            {"label": m.label, "url": reverse(m.page_name), "name": m.page_name}
            for m in modalities.all_modalities()
        ]
    }
