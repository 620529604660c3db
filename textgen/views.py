"""The chat page: a sidebar of the caller's conversations (newest first, searched
with `q`) beside the one the URL names (`/text/?c=<id>`), kept on the server so it
opens on any device. With JavaScript each turn goes to the API and the answer
streams in; without it, the form posts the turn here, which continues the open
conversation (or starts one) and comes back to it."""

from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse

from genhub import conversations
from genhub.api.conversations import message_out
from genhub.jobs import submit_job
from genhub.models import Conversation, Job
from genhub.web.generation import generation_page

SAMPLING = ["max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed"]
SIDEBAR_LENGTH = 50


def _open_conversation(request: HttpRequest, owned: Any) -> Conversation | None:
    wanted = request.POST.get("conversation") or request.GET.get("c")
    if not wanted:
        return None
    try:
        return get_object_or_404(owned, pk=UUID(wanted))
    except ValueError:
        raise Http404("No such conversation.") from None


@login_required
def text_page(request: HttpRequest) -> HttpResponse:
    owner = request.user
    owned = Conversation.objects.owned_by(owner).select_related("model")
    conversation = _open_conversation(request, owned)
    q = request.GET.get("q", "").replace("\x00", "").strip()
    listed = conversations.search(owned, q) if q else owned

    def continue_conversation(fields: dict[str, Any], model: str | None) -> HttpResponse:
        fields.pop("conversation", None)
        system = fields.pop("system", "").strip()
        message = fields.pop("message", "")
        with transaction.atomic():  # a conversation started here goes if its turn is refused
            chat = conversation or conversations.start(owner, system_prompt=system)
            if chat.system_prompt != system:
                conversations.edit(chat, system_prompt=system)

            def submit(history: list[dict[str, str]], model_name: str | None) -> Job:
                turn = {**fields, "messages": history, "conversation": str(chat.pk)}
                return submit_job(owner, "text", model_name, turn)

            conversations.ask(chat, message, model, submit)
        return redirect(f"{reverse('text')}?c={chat.pk}")

    shown = [message_out(m) for m in conversations.shown_path(conversation)] if conversation else []
    context: dict[str, Any] = {
        "conversations": list(listed[:SIDEBAR_LENGTH]),
        "conversation": conversation,
        "shown": shown,
        "waiting": any(m["status"] in ("queued", "running") for m in shown),
        "q": q,
    }
    if conversation is not None and conversation.model and conversation.model.enabled:
        context["chosen"] = conversation.model
    return generation_page(
        request,
        "text",
        "textgen/page.html",
        basic=[],
        advanced=SAMPLING,
        context=context,
        submit=continue_conversation,
    )
