"""POST /api/v1/text/generations."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router
from pydantic import ConfigDict, JsonValue, model_validator

from genhub import conversations
from genhub.api.auth import job_owner
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

    @model_validator(mode="after")
    def a_turn_is_a_prompt(self) -> "TextGenerationRequest":
        if self.conversation is not None and self.prompt is None:
            raise ValueError("with `conversation`, give the new user message as `prompt`")
        return self


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
        make = chat_turn(owner, chat, params, body.model)
    job = submit_generation(
        request, owner, "text", body.model, params, body.callback_url, make=make
    )
    return 202, job_out(job, request)


def chat_turn(
    owner: object, chat: Conversation, params: dict[str, Any], model: str | None
) -> Callable[[str], Job]:
    """What makes a conversation's next turn: `params["prompt"]` becomes its user
    message, and the job is sent the whole conversation as `messages`."""
    turn = {k: v for k, v in params.items() if k != "prompt"}

    def make(callback_url: str) -> Job:
        def submit(history: list[dict[str, str]], model_name: str | None) -> Job:
            fields = {**turn, "messages": history}
            return submit_job(owner, "text", model_name, fields, callback_url=callback_url)

        answer = conversations.ask(chat, params["prompt"], model, submit)
        assert answer.job is not None  # just made
        return answer.job

    return make
