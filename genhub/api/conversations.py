"""GET|POST /conversations, GET|PATCH|DELETE /conversations/{id}: chats kept on the
server. A turn, a regenerated answer, an edit and a continuation are POST
/text/generations with `conversation` (textgen/api.py); PATCH `leaf` switches
between versions of a message."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from pydantic import AfterValidator, ConfigDict, model_validator

from genhub import conversations
from genhub.api.auth import caller
from genhub.api.schemas import ErrorOut, QueryText
from genhub.conversation_from_job import from_job
from genhub.errors import InvalidInput
from genhub.models import Conversation, Job, Message
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
    from_job: UUID | None = Field(
        None,
        description="One of your text jobs, to chat on from its answer: its conversation "
        "(at that turn) when it is a turn of one, else a new conversation holding its "
        "messages and answer. Given alone.",
    )

    @model_validator(mode="after")
    def from_job_alone(self) -> "ConversationIn":
        if self.from_job is not None and self.model_fields_set - {"from_job"}:
            raise ValueError("give `from_job` alone: the conversation takes the job's settings")
        return self


class ConversationPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    title: Text | None = Field(None, max_length=200)
    system_prompt: Text | None = None
    model: str | None = Field(None, description="A text model's name; null for the default.")
    leaf: UUID | None = Field(
        None,
        description="A message of this conversation: show the branch through it (its "
        "ancestors, then the latest below it). Switches between versions of a message.",
    )


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
    finish_reason: str | None  # an ended answer's: "length" when it was cut off
    siblings: list[str]  # its versions (same parent and role), oldest first, itself included
    sibling_index: int  # its place among them, from 0
    sibling_count: int  # how many there are: "‹ 2/3 ›" is index 1 of 3
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


def owned_message(owner: Any, conversation: Conversation, field: str, message_id: UUID) -> Message:
    """The message `field` names: 404 unless it is one of `owner`'s, 422 naming
    `field` when it is in another of their conversations."""
    message = get_object_or_404(
        Message.objects.filter(conversation__owner=owner).select_related("job"), pk=message_id
    )
    if message.conversation_id != conversation.pk:
        raise InvalidInput(field, "the message is in another conversation")
    message.conversation = conversation
    return message


def _status(message: Message) -> str | None:
    if message.role == Message.Role.USER:
        return None
    if message.job is not None:
        return message.job.status
    return "succeeded" if message.content else "deleted"  # copied in, or its job deleted


def _finish_reason(message: Message) -> str | None:
    result = message.job.result if message.job is not None else message.meta
    reason = result.get("finish_reason") if isinstance(result, dict) else None
    return str(reason) if reason else None


def message_out(message: Message, siblings: list[Message] | None = None) -> dict[str, Any]:
    job = message.job
    answer = message.role == Message.Role.ASSISTANT
    versions = siblings or [message]
    return {
        "id": str(message.pk),
        "parent": str(message.parent_id) if message.parent_id else None,
        "role": message.role,
        "content": message.text,
        "job": str(job.pk) if job is not None else None,
        "status": _status(message),
        "error": job.error if job is not None else "",
        "truncated_turns": conversations.dropped_turns(message) if answer else 0,
        "note": conversations.truncation_note(message) if answer else "",
        "finish_reason": _finish_reason(message) if answer else None,
        "siblings": [str(m.pk) for m in versions],
        "sibling_index": versions.index(message),
        "sibling_count": len(versions),
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
        out["messages"] = [
            message_out(shown.message, shown.siblings)
            for shown in conversations.shown_with_siblings(conversation)
        ]
    return out


@router.post(
    "",
    response={200: ConversationDetail, 201: ConversationDetail, 404: ErrorOut, 422: ErrorOut},
    url_name="conversation_create",
)
def create_conversation(request: HttpRequest, body: ConversationIn) -> tuple[int, dict[str, Any]]:
    """201 with a new conversation; 200 with an existing one when `from_job` is
    already a turn of it."""
    owner = caller(request)
    if body.from_job is not None:
        job = get_object_or_404(Job.objects.filter(owner=owner), pk=body.from_job)
        conversation, made = from_job(owner, job)
        return (201 if made else 200), conversation_out(conversation, messages=True)
    conversation = conversations.start(owner, **body.model_dump(exclude={"from_job"}))
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
    fields = body.model_dump(exclude_unset=True)
    if "leaf" in fields:
        leaf = fields.pop("leaf")
        if leaf is None:
            raise InvalidInput("leaf", "give the id of a message to show")
        conversations.show(conversation, owned_message(caller(request), conversation, "leaf", leaf))
    conversations.edit(conversation, **fields)
    return conversation_out(conversation, messages=True)


@router.delete(
    "/{conversation_id}", response={204: None, 404: ErrorOut}, url_name="conversation_delete"
)
def delete_conversation(request: HttpRequest, conversation_id: UUID) -> tuple[int, None]:
    conversations.delete(get_object_or_404(_own(request), pk=conversation_id))
    return 204, None
