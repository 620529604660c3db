"""POST /api/v1/text/generations."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router
from pydantic import ConfigDict, Field, JsonValue, model_validator

from genhub import conversations
from genhub.api.auth import job_owner
from genhub.api.conversations import owned_message
from genhub.api.generations import submit_generation
from genhub.api.schemas import ErrorOut, JobOut, job_out
from genhub.jobs import submit_job
from genhub.models import Conversation, Job
from textgen.params import TextParams

router = Router(tags=["text"])


# The docs' "Try it out" sends this as it is, so it must be a valid request: the
# example generated from the schema would give both `prompt` and `messages`.
EXAMPLE: dict[str, JsonValue] = {"prompt": "The capital of France is", "max_new_tokens": 32}


class TextGenerationRequest(TextParams):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    model: str | None = None
    callback_url: str | None = None  # POSTed the job when it ends (docs/jobs.md)
    parent: UUID | None = Field(
        None,
        description="With `conversation`: the message the new one follows (default: the "
        "last shown). With `prompt`, an answer, or null for a new first message: the new "
        "message branches there (an edit). Without `prompt`, a user message: it is answered "
        "again (a regenerated answer beside the earlier ones).",
    )
    continue_message: UUID | None = Field(
        None,
        description="With `conversation`, alone: an answer that was cut off (finish_reason "
        '"length") or stopped; the model goes on writing it, and the new text joins it.',
    )

    # Named as TextParams's check, so it replaces it: a conversation's turn brings
    # its history from the server, and may have no prompt.
    @model_validator(mode="after")
    def prompt_or_messages(self) -> "TextGenerationRequest":
        branching = "parent" in self.model_fields_set or self.continue_message is not None
        if self.conversation is None:
            if branching:
                raise ValueError("`parent` and `continue_message` go with `conversation`")
            self.check_prompt_or_messages()
            return self
        if self.messages is not None:
            raise ValueError("with `conversation`, give the new user message as `prompt`")
        if self.continue_final_message:
            raise ValueError("with `conversation`, continue an answer with `continue_message`")
        if self.continue_message is not None:
            if self.prompt is not None or "parent" in self.model_fields_set:
                raise ValueError("give `continue_message` without `prompt` and `parent`")
        elif self.prompt is None and self.parent is None:
            raise ValueError(
                "with `conversation`, give the new user message as `prompt` (or `parent` "
                "alone to have a message answered again, or `continue_message`)"
            )
        return self


# What a conversation's request says about the turn, never sent to the worker.
TURN_FIELDS = ("prompt", "parent", "continue_message")


@router.post(
    "/generations",
    response={
        202: JobOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    url_name="text_generate",
    openapi_extra={"requestBody": {"content": {"application/json": {"example": EXAMPLE}}}},
)
def create_generation(
    request: HttpRequest, body: TextGenerationRequest
) -> tuple[int, dict[str, Any]]:
    params = body.model_dump(exclude={"model", "callback_url"}, exclude_unset=True)
    owner = job_owner(request, "text")
    make = None
    if body.conversation is not None:
        chat = get_object_or_404(Conversation.objects.owned_by(owner), pk=body.conversation)
        params["conversation"] = str(chat.pk)
        for field in ("parent", "continue_message"):
            if params.get(field) is not None:
                params[field] = str(params[field])
        make = chat_turn(owner, chat, body, params)
    job = submit_generation(
        request, owner, "text", body.model, params, body.callback_url, make=make
    )
    return 202, job_out(job, request)


def chat_turn(
    owner: object, chat: Conversation, body: TextGenerationRequest, params: dict[str, Any]
) -> Callable[[str], Job]:
    """What makes a conversation's next job: a new user message (`prompt`, after
    `parent` when given), another answer to `parent`, or more of `continue_message`.
    The job is sent the history that leads to it as `messages`. The messages named
    are looked up now: another user's is a 404, one of another conversation a 422."""
    turn = {k: v for k, v in params.items() if k not in TURN_FIELDS}
    parent = owned_message(owner, chat, "parent", body.parent) if body.parent else None
    more = body.continue_message
    cut_off = owned_message(owner, chat, "continue_message", more) if more else None

    def make(callback_url: str) -> Job:
        def submit(history: list[dict[str, str]], model_name: str | None) -> Job:
            fields = {**turn, "messages": history}
            if history[-1]["role"] == "assistant":  # only a continuation ends so
                fields["continue_final_message"] = True
            return submit_job(owner, "text", model_name, fields, callback_url=callback_url)

        if cut_off is not None:
            answer = conversations.continue_answer(chat, cut_off, body.model, submit)
        elif body.prompt is None:
            assert parent is not None  # the request's validator says so
            answer = conversations.answer_again(chat, parent, body.model, submit)
        elif "parent" in body.model_fields_set:
            answer = conversations.ask(chat, body.prompt, body.model, submit, after=parent)
        else:
            answer = conversations.ask(chat, body.prompt, body.model, submit)
        assert answer.job is not None  # just made
        return answer.job

    return make
