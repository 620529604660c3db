"""POST /v1/completions: one text job per prompt and choice, the prompt as it is."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import Router

from genhub.api.openai import sse, text
from genhub.api.openai.follow import JobView
from genhub.api.openai.schemas import ERRORS, Completion, CompletionRequest

router = Router(tags=["completions"])


def choices(body: CompletionRequest) -> list[text.Choice]:
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    params: dict[str, Any] = {}
    if body.max_tokens is not None:
        params["max_new_tokens"] = body.max_tokens
    params |= text.sampling(body.temperature, body.top_p) | text.stop_strings(body.stop)
    n = body.n or 1
    # OpenAI's order: every choice of the first prompt, then of the next.
    return [
        text.Choice(text.seeded({"prompt": prompt, **params}, body.seed, i), prompt_index)
        for prompt_index, prompt in enumerate(prompts)
        for i in range(n)
    ]


class CompletionShape:
    id_prefix = "cmpl"

    def _chunk(self, answer: text.Answer, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": answer.id,
            "object": "text_completion",
            "created": answer.created,
            "model": answer.model,
            "system_fingerprint": None,
            "choices": choices,
        }

    def opening(self, answer: text.Answer, index: int) -> None:
        return None

    def chunk(
        self, answer: text.Answer, index: int, text: str, finish_reason: str | None
    ) -> dict[str, Any]:
        choice = {"text": text, "index": index, "logprobs": None, "finish_reason": finish_reason}
        return self._chunk(answer, [choice])

    def usage_chunk(self, answer: text.Answer, usage: dict[str, int]) -> dict[str, Any]:
        return {**self._chunk(answer, []), "usage": usage}

    def whole(
        self, answer: text.Answer, views: list[JobView], usage: dict[str, int]
    ) -> dict[str, Any]:
        choices = [
            {
                "text": view.final_text,
                "index": index,
                "logprobs": None,
                "finish_reason": view.result.get("finish_reason") or "stop",
            }
            for index, view in enumerate(views)
        ]
        return {**self._chunk(answer, choices), "usage": usage}


SHAPE = CompletionShape()


@router.post(
    "",
    response={200: Completion, **ERRORS},
    url_name="openai_completions",
    openapi_extra=sse.STREAMED_200,
)
async def create_completion(
    request: HttpRequest, response: HttpResponse, body: CompletionRequest
) -> HttpResponseBase | dict[str, Any]:
    answer = await text.submit(request, SHAPE.id_prefix, body.model, choices(body))
    return await text.respond(answer, SHAPE, body.stream, body.stream_options, response)
