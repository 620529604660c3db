"""The music page: prompt, duration, sampling, format and a melody clip."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from genhub.web.generation import generation_page


@login_required
def audio_page(request: HttpRequest) -> HttpResponse:
    return generation_page(
        request,
        "audio",
        "audiogen/page.html",
        basic=["prompt", "duration", "format"],
        advanced=["guidance_scale", "temperature", "top_k", "top_p", "seed"],
        kinds={"prompt": "textarea"},
    )
