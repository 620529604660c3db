"""The chat page: a sidebar of the caller's conversations (newest first, searched
with `q`) beside the one the URL names (`/text/?c=<id>`), kept on the server so it
opens on any device. With JavaScript each turn goes to the API and the answer
streams in; without it, the form posts the turn here, which continues the open
conversation (or starts one) and comes back to it. A job page's "Continue this
chat" posts `from_job` here too (templates/partials/continue_chat.html)."""

from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse

from genhub import conversations
from genhub.api.conversations import conversation_out
from genhub.conversation_from_job import from_job
from genhub.errors import InvalidInput
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
    if request.method == "POST" and "from_job" in request.POST:
        return _continue_from_job(request)
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

    detail = conversation_out(conversation, messages=True) if conversation else None
    shown = detail["messages"] if detail else []
    context: dict[str, Any] = {
        "conversations": list(listed[:SIDEBAR_LENGTH]),
        "conversation": conversation,
        "detail": detail,
        "bubbles": bubbles(shown),
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


def bubbles(shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The shown messages as the page draws them: a continuation (an answer whose
    parent is the answer before it) joins that answer's bubble."""
    drawn: list[dict[str, Any]] = []
    for message in shown:
        last: dict[str, Any] = drawn[-1] if drawn else {"role": None, "parts": [{"id": None}]}
        follows = last["parts"][-1]["id"] == message["parent"]
        if follows and last["role"] == message["role"] == "assistant":
            last["parts"].append(message)
        else:
            drawn.append({"role": message["role"], "parts": [message]})
    for bubble in drawn:
        parts = bubble["parts"]
        bubble["text"] = "".join(p["content"] for p in parts if p["status"] != "failed")
        bubble["last"] = parts[-1]
        bubble["notes"] = [p["note"] for p in parts if p["note"]]
    return drawn


def _continue_from_job(request: HttpRequest) -> HttpResponse:
    """Open the conversation to go on from a job of the caller's (genhub/conversation_from_job.py)."""
    try:
        wanted = UUID(request.POST["from_job"])
    except ValueError:
        raise Http404("No such job.") from None
    job = get_object_or_404(Job.objects.filter(owner_id=request.user.pk), pk=wanted)
    try:
        chat, _ = from_job(request.user, job)
    except InvalidInput as error:
        return HttpResponse(error.message, status=422, content_type="text/plain; charset=utf-8")
    return redirect(f"{reverse('text')}?c={chat.pk}")
