"""What chat completions and completions share: one text job per choice, then
either the whole answer once every job ended, or its tokens as SSE chunks as
they arrive. The two endpoints differ only in how a choice is written
(`TextShape`)."""

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from genhub.api.auth import job_owner
from genhub.api.generations import submit_generation
from genhub.api.openai import sse
from genhub.api.openai.errors import error_body
from genhub.api.openai.follow import JobView, follow_jobs
from genhub.api.openai.models import require_model
from genhub.api.openai.outcomes import JOB_HEADER, cancel_jobs, outcome_error, wait
from genhub.api.openai.schemas import StreamOptions
from genhub.models import Job
from genhub.outages import REDIS_ERRORS

log = logging.getLogger(__name__)


@dataclass
class Choice:
    """One job to make: its params, and which prompt of the request it answers."""

    params: dict[str, Any]
    prompt_index: int = 0


@dataclass
class Answer:
    """The request's jobs, and what every chunk or response repeats."""

    id: str
    model: str
    created: int
    jobs: list[Job]
    prompt_of: list[int]

    @property
    def job_ids(self) -> list[str]:
        return [str(job.pk) for job in self.jobs]


class TextShape(Protocol):
    """How one endpoint writes its answer."""

    id_prefix: str

    def opening(self, answer: Answer, index: int) -> dict[str, Any] | None: ...

    def chunk(
        self, answer: Answer, index: int, text: str, finish_reason: str | None
    ) -> dict[str, Any]: ...

    def usage_chunk(self, answer: Answer, usage: dict[str, int]) -> dict[str, Any]: ...

    def whole(
        self, answer: Answer, views: list[JobView], usage: dict[str, int]
    ) -> dict[str, Any]: ...


def seeded(base: dict[str, Any], seed: int | None, index: int) -> dict[str, Any]:
    """Choice `index`'s params: seed + index when a seed is given (OpenAI's `n`)."""
    if seed is None:
        return dict(base)
    return {**base, "seed": (seed + index) % 2**32}


def stop_strings(stop: str | list[str] | None) -> dict[str, Any]:
    if stop is None:
        return {}
    return {"stop": [stop] if isinstance(stop, str) else stop}


def sampling(temperature: float | None, top_p: float | None) -> dict[str, Any]:
    """OpenAI's sampling fields as TextParams; unset ones keep the model's defaults."""
    params: dict[str, Any] = {}
    if temperature is not None:
        params["temperature"] = temperature
    if top_p == 0:
        params["temperature"] = 0.0  # only the likeliest token: greedy
    elif top_p is not None:
        params["top_p"] = top_p
    return params


def _submit(request: HttpRequest, model_name: str, choices: list[Choice]) -> list[Job]:
    owner = job_owner(request, "text")
    require_model(model_name, "text")
    jobs: list[Job] = []
    try:
        for index, choice in enumerate(choices):
            job = submit_generation(request, owner, "text", model_name, choice.params, choice=index)
            jobs.append(job)
    except BaseException:
        cancel_jobs(jobs)  # a refused choice (a quota, say) takes the whole request back
        raise
    return jobs


async def submit(
    request: HttpRequest, prefix: str, model_name: str, choices: list[Choice]
) -> Answer:
    jobs = await sync_to_async(_submit)(request, model_name, choices)
    return Answer(
        id=f"{prefix}-{jobs[0].pk}",
        model=model_name,
        created=int(time.time()),
        jobs=jobs,
        prompt_of=[c.prompt_index for c in choices],
    )


def usage(answer: Answer, views: list[JobView]) -> dict[str, int]:
    """Tokens in all: each prompt counted once, as OpenAI does for `n` > 1."""
    prompts: dict[int, int] = {}
    completion = 0
    for view, prompt_index in zip(views, answer.prompt_of, strict=True):
        counted = view.result.get("usage") or {}
        prompts[prompt_index] = max(prompts.get(prompt_index, 0), counted.get("prompt_tokens", 0))
        completion += counted.get("completion_tokens", 0)
    prompt = sum(prompts.values())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def respond(
    answer: Answer,
    shape: TextShape,
    streamed: bool | None,
    options: StreamOptions | None,
    response: HttpResponse,
) -> HttpResponseBase | dict[str, Any]:
    """The SSE stream, or the whole answer once every job ended. Either way the
    `X-GenHub-Job` header names the jobs (the ids of the history and /api/v1/jobs)."""
    if streamed:
        include_usage = bool(options and options.include_usage)
        return sse.sse_response(stream(answer, shape, include_usage), answer.job_ids)
    response[JOB_HEADER] = ", ".join(answer.job_ids)
    return await answer_whole(answer, shape)


async def answer_whole(answer: Answer, shape: TextShape) -> dict[str, Any]:
    views = await wait(answer.job_ids)
    for view in views:
        if (error := outcome_error(view)) is not None:
            raise error
    return shape.whole(answer, views, usage(answer, views))


async def stream(answer: Answer, shape: TextShape, include_usage: bool) -> AsyncIterator[str]:
    """The answer as SSE chunks, token deltas as the worker makes them.

    When the client disconnects, Django's ASGI handler cancels the task that
    iterates this (django/core/handlers/asgi.py, ASGIHandler.handle: it listens
    for `http.disconnect` beside the response and cancels the response's task),
    so a CancelledError arrives at the pending await; the `finally` then cancels
    every job that has not ended, as it does when this stream ends early for
    any other reason.
    """
    ids = answer.job_ids
    index_of = {job_id: index for index, job_id in enumerate(ids)}
    sent = dict.fromkeys(ids, "")
    ended: dict[str, JobView] = {}
    try:
        for index in range(len(ids)):
            if (opening := shape.opening(answer, index)) is not None:
                yield sse.event(opening)
        async for changed in follow_jobs(ids):
            if not changed:
                yield sse.KEEP_ALIVE
            for view in changed:
                index = index_of[view.id]
                text = view.final_text
                # Text from an attempt that was started over cannot be taken back;
                # only what extends what was sent goes out.
                if len(text) > len(sent[view.id]) and text.startswith(sent[view.id]):
                    yield sse.event(shape.chunk(answer, index, text[len(sent[view.id]) :], None))
                    sent[view.id] = text
                if not view.done:
                    continue
                if (error := outcome_error(view)) is not None:
                    yield sse.event(error.body())
                    return
                ended[view.id] = view
                reason = view.result.get("finish_reason") or "stop"
                yield sse.event(shape.chunk(answer, index, "", reason))
        if include_usage:
            views = [ended[job_id] for job_id in ids]
            yield sse.event(shape.usage_chunk(answer, usage(answer, views)))
        yield sse.DONE
    except REDIS_ERRORS:
        message = "The stream was interrupted: Redis is unreachable. Its jobs were cancelled."
        yield sse.event(error_body(message, "server_error"))
    finally:
        unfinished = [job for job in answer.jobs if str(job.pk) not in ended]
        if unfinished:
            log.info("stream of %s ended early: cancelling its jobs", answer.id)
            await sync_to_async(cancel_jobs)(unfinished)
