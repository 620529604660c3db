"""The image page: prompt, size, sampling and image-to-image, with a live preview."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from genhub.web.generation import generation_page

SIZE_PRESETS = [
    (256, 256),
    (512, 512),
    (768, 768),
    (1024, 1024),
    (512, 768),
    (768, 512),
    (1024, 576),
]


@login_required
def image_page(request: HttpRequest) -> HttpResponse:
    return generation_page(
        request,
        "image",
        "imagegen/page.html",
        basic=["prompt", "negative_prompt"],
        advanced=["steps", "guidance_scale", "scheduler", "num_images", "strength"],
        kinds={"prompt": "textarea", "negative_prompt": "textarea"},
        context={"size_presets": SIZE_PRESETS},
    )
