"""GET|POST /conversations, GET|PATCH|DELETE /conversations/{id}: chats kept on the
server. A turn is POST /text/generations with `conversation` (textgen/api.py)."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from pydantic import AfterValidator, ConfigDict

from genhub import conversations
from genhub.api.auth import caller
from genhub.api.schemas import ErrorOut, QueryText
from genhub.models import Conversation, Message
from genhub.prompts import OptionalText

router = Router(tags=["conversations"])


def _no_lone_surrogates(text: str) -> str:
    # JSON may carry "\ud800", which PostgreSQL cannot store as text: a 422, not a 500.
    if any("\ud800" <= char <= "\udfff" for char in text):
        raise ValueError("the text holds a lone UTF-16 surrogate (such as \\ud800)")
    return text


# Text a conversation keeps: no NUL, no lone surrogate, within GENHUB_MAX_PROMPT_CHARS.
Text = Annotated[OptionalText, AfterValidator(_no_lone_surrogates)]


class ConversationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field("", max_length=200, description="Empty: the first message's start.")
    system_prompt: Text = ""
    model: str | None = Field(None, description="A text model's name; none for the default.")


class ConversationPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    title: Text | None = Field(None, max_length=200)
    system_prompt: Text | None = None
    model: str | None = Field(None, description="A text model's name; null for the default.")


class ConversationFilters(Schema):
    q: QueryText | None = Field(None, description="Words in the title or any message.")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class MessageOut(Schema):
    id: str
    parent: str | None
    role: str
    content: str  # an answer's text once its job has succeeded (or was cancelled)
    job: str | None  # the job that wrote an answer: follow it on /ws/jobs/{id}/
    status: str | None  # an answer's job status; null for a user message
    error: str  # why an answer's job failed
    truncated_turns: int  # oldest turns the answer's model did not see
    note: str  # says so, in a sentence
    created_at: datetime


class ConversationOut(Schema):
    id: str
    title: str
    model: str | None
    system_prompt: str
    created_at: datetime
    updated_at: datetime


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]  # the shown path, first to last


class ConversationPage(Schema):
    items: list[ConversationOut]
    count: int
    page: int
    page_size: int
    next: str | None


def _own(request: HttpRequest) -> Any:
    return Conversation.objects.owned_by(caller(request)).select_related("model")


def message_out(message: Message) -> dict[str, Any]:
    job = message.job
    answer = message.role == Message.Role.ASSISTANT
    return {
        "id": str(message.pk),
        "parent": str(message.parent_id) if message.parent_id else None,
        "role": message.role,
        "content": message.text,
        "job": str(job.pk) if job is not None else None,
        "status": (job.status if job is not None else "deleted") if answer else None,
        "error": job.error if job is not None else "",
        "truncated_turns": conversations.dropped_turns(message) if answer else 0,
        "note": conversations.truncation_note(message) if answer else "",
        "created_at": message.created_at,
    }


def conversation_out(conversation: Conversation, *, messages: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(conversation.pk),
        "title": conversation.title,
        "model": conversation.model.name if conversation.model else None,
        "system_prompt": conversation.system_prompt,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
    }
    if messages:
        out["messages"] = [message_out(m) for m in conversations.shown_path(conversation)]
    return out


@router.post("", response={201: ConversationDetail, 422: ErrorOut}, url_name="conversation_create")
def create_conversation(request: HttpRequest, body: ConversationIn) -> tuple[int, dict[str, Any]]:
    conversation = conversations.start(caller(request), **body.model_dump())
    return 201, conversation_out(conversation, messages=True)


@router.get("", response=ConversationPage, url_name="conversation_list")
def list_conversations(request: HttpRequest, filters: Query[ConversationFilters]) -> dict[str, Any]:
    found = _own(request)
    if filters.q:
        found = conversations.search(found, filters.q)
    count = found.count()
    start = (filters.page - 1) * filters.page_size
    items = list(found[start : start + filters.page_size])
    next_url = None
    if start + filters.page_size < count:
        query = request.GET.copy()
        query["page"] = str(filters.page + 1)
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return {
        "items": [conversation_out(c) for c in items],
        "count": count,
        "page": filters.page,
        "page_size": filters.page_size,
        "next": next_url,
    }


@router.get(
    "/{conversation_id}",
    response={200: ConversationDetail, 404: ErrorOut},
    url_name="conversation_detail",
)
def get_conversation(request: HttpRequest, conversation_id: UUID) -> dict[str, Any]:
    conversation = get_object_or_404(_own(request), pk=conversation_id)
    return conversation_out(conversation, messages=True)


@router.patch(
    "/{conversation_id}",
    response={200: ConversationDetail, 404: ErrorOut, 422: ErrorOut},
    url_name="conversation_edit",
)
def edit_conversation(
    request: HttpRequest, conversation_id: UUID, body: ConversationPatch
) -> dict[str, Any]:
    conversation = get_object_or_404(_own(request), pk=conversation_id)
    conversations.edit(conversation, **body.model_dump(exclude_unset=True))
    return conversation_out(conversation, messages=True)


@router.delete(
    "/{conversation_id}", response={204: None, 404: ErrorOut}, url_name="conversation_delete"
)
def delete_conversation(request: HttpRequest, conversation_id: UUID) -> tuple[int, None]:
    conversations.delete(get_object_or_404(_own(request), pk=conversation_id))
    return 204, None
