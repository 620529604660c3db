"""POST /v1/chat/completions: one text job per choice, the chat as `messages`."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import Router

from genhub.api.openai import sse, text
from genhub.api.openai.follow import JobView
from genhub.api.openai.schemas import (
    ERRORS,
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessageIn,
)

router = Router(tags=["chat"])


def _message(message: ChatMessageIn) -> dict[str, str]:
    content = message.content
    if isinstance(content, list):
        content = "".join(part.text or "" for part in content)
    # "developer" is what newer OpenAI models call the system prompt.
    role = "system" if message.role == "developer" else message.role
    return {"role": role, "content": content or ""}


def choices(body: ChatCompletionRequest) -> list[text.Choice]:
    params: dict[str, Any] = {"messages": [_message(m) for m in body.messages]}
    max_tokens = body.max_completion_tokens or body.max_tokens
    if max_tokens is not None:
        params["max_new_tokens"] = max_tokens
    params |= text.sampling(body.temperature, body.top_p) | text.stop_strings(body.stop)
    return [text.Choice(text.seeded(params, body.seed, i)) for i in range(body.n or 1)]


class ChatShape:
    id_prefix = "chatcmpl"

    def _chunk(self, answer: text.Answer, choice: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": answer.id,
            "object": "chat.completion.chunk",
            "created": answer.created,
            "model": answer.model,
            "system_fingerprint": None,
            "choices": [{"logprobs": None, **choice}],
        }

    def opening(self, answer: text.Answer, index: int) -> dict[str, Any]:
        delta = {"role": "assistant", "content": ""}
        return self._chunk(answer, {"index": index, "delta": delta, "finish_reason": None})

    def chunk(
        self, answer: text.Answer, index: int, text: str, finish_reason: str | None
    ) -> dict[str, Any]:
        delta = {"content": text} if text else {}
        return self._chunk(answer, {"index": index, "delta": delta, "finish_reason": finish_reason})

    def usage_chunk(self, answer: text.Answer, usage: dict[str, int]) -> dict[str, Any]:
        return {**self._chunk(answer, {}), "choices": [], "usage": usage}

    def whole(
        self, answer: text.Answer, views: list[JobView], usage: dict[str, int]
    ) -> dict[str, Any]:
        return {
            "id": answer.id,
            "object": "chat.completion",
            "created": answer.created,
            "model": answer.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": index,
                    "message": {"role": "assistant", "content": view.final_text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": view.result.get("finish_reason") or "stop",
                }
                for index, view in enumerate(views)
            ],
            "usage": usage,
        }


SHAPE = ChatShape()


@router.post(
    "/completions",
    response={200: ChatCompletion, **ERRORS},
    url_name="openai_chat_completions",
    openapi_extra=sse.STREAMED_200,
)
async def create_chat_completion(
    request: HttpRequest, response: HttpResponse, body: ChatCompletionRequest
) -> HttpResponseBase | dict[str, Any]:
    answer = await text.submit(request, SHAPE.id_prefix, body.model, choices(body))
    return await text.respond(answer, SHAPE, body.stream, body.stream_options, response)
