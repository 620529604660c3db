"""The chat page. With JavaScript, the conversation lives in the browser and each
turn goes to the API; without it, the form sends one message (and the system
prompt) and the job page shows the answer."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from genhub.web.generation import generation_page

SAMPLING = ["max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed"]


def _messages_from_form(fields: dict[str, Any]) -> dict[str, Any]:
    system = fields.pop("system", "").strip()
    message = fields.pop("message", "")
    messages = [{"role": "system", "content": system}] if system else []
    fields["messages"] = [*messages, {"role": "user", "content": message}]
    return fields


@login_required
def text_page(request: HttpRequest) -> HttpResponse:
    return generation_page(
        request,
        "text",
        "textgen/page.html",
        basic=[],
        advanced=SAMPLING,
        prepare=_messages_from_form,
    )
