"""Streaming text from an OpenAI-compatible engine (vLLM, llama.cpp's server,
SGLang, TGI, `transformers serve`) with the official openai client.

The engine runs the model and batches many requests at once; this side only
streams. So engine jobs run on a thread-pool worker (queue `engine`, `-P threads`),
where Celery's time limits do not apply: the job's deadline is kept here, and so
is its cancel, by closing the stream, which tells the engine to stop as well.

Modality-neutral on purpose: the text runner says what to ask for
(`EngineRequest`) and what to do with each piece of text (`on_text`).
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx2  # the HTTP client openai 3.x is built on (a fork of httpx)
import openai
from django.conf import settings
from django.utils import timezone

from genhub.errors import JobError, without_internals
from genhub.models import AIModel
from genhub.worker.progress import JobProgress

log = logging.getLogger(__name__)

# An engine that is down refuses at once; one that does not even accept the
# connection within this long is as good as down.
CONNECT_SECONDS = 5.0
# How often the watchdog looks at the deadline while it waits for a cancel.
WATCH_SECONDS = 0.25


@dataclass(frozen=True)
class EngineRequest:
    """One generation: `messages` go to /chat/completions, `prompt` to /completions."""

    max_tokens: int
    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)  # OpenAI fields: temperature, ...
    extra: dict[str, Any] = field(default_factory=dict)  # fields beyond OpenAI's (top_k, ...)


@dataclass(frozen=True)
class EngineReply:
    text: str
    finish_reason: str  # "stop", "length", or "cancelled"
    prompt_tokens: int
    completion_tokens: int
    seconds: float  # from sending the request to the end of the stream


@dataclass(frozen=True)
class Engine:
    url: str
    model: str
    api_key_env: str

    @classmethod
    def of(cls, aimodel: AIModel) -> "Engine":
        options = aimodel.options
        return cls(aimodel.source, options["engine_model"], options.get("api_key_env") or "")

    def __str__(self) -> str:
        return f"the engine at {self.url} (model '{self.model}')"

    def api_key(self) -> str:
        # The row names a variable, never holds the key; the workers' environment
        # holds it. An engine without auth ignores the header.
        return (os.environ.get(self.api_key_env) if self.api_key_env else None) or "none"


def stream(
    aimodel: AIModel,
    request: EngineRequest,
    progress: JobProgress,
    on_text: Callable[[str, int], bool],
) -> EngineReply:
    """Stream one generation from `aimodel`'s engine. `on_text(delta, pieces so
    far)` returns False to stop early (a stop string was reached). Ends early,
    with finish_reason "cancelled", when the job is cancelled; raises JobError
    when the engine cannot be reached, answers an error, or the job's deadline
    passes."""
    engine = Engine.of(aimodel)
    deadline = _deadline(progress)
    client = openai.OpenAI(
        base_url=engine.url,
        api_key=engine.api_key(),
        timeout=httpx2.Timeout(max(deadline - time.monotonic(), 1.0), connect=CONNECT_SECONDS),
        max_retries=0,  # a job that fails says so at once; the owner may resubmit
    )
    text, pieces, usage = "", 0, None
    finish: str | None = None  # as the engine says: "stop", "length", ...
    stopped_here = False  # on_text asked to stop: a stop string the engine ignored
    started = time.monotonic()
    # The watchdog closes the connection when a cancel or the deadline comes while
    # the engine is silent (queued behind other requests, or stuck).
    with client, _Watchdog(progress, deadline, client.close) as watchdog:
        try:
            for chunk in _open(client, engine, request):
                usage = chunk.usage or usage
                choice = chunk.choices[0] if chunk.choices else None
                if choice is None:
                    continue
                delta = _delta(choice, chat=request.messages is not None)
                if delta:
                    text += delta
                    pieces += 1
                    if not on_text(delta, pieces):
                        stopped_here = True
                        break
                finish = choice.finish_reason or finish
                if progress.cancel_requested:
                    break
        except (openai.APIError, httpx2.HTTPError) as error:
            if watchdog.reason == "deadline":
                raise _past_deadline(engine) from error
            if watchdog.reason != "cancelled":
                raise _engine_error(engine, error) from error
    if progress.cancel_requested:
        finish = "cancelled"
    elif stopped_here:
        finish = "stop"
    elif finish is None:
        # Closed at the deadline, or the engine hung up without saying it was done.
        if watchdog.reason == "deadline":
            raise _past_deadline(engine)
        raise JobError(
            f"The stream from {engine} ended before the engine said it was done. Check "
            "the engine's log; the job may be submitted again."
        )
    return EngineReply(
        text=text,
        # The in-process runner's reasons; an engine's others ("eos", "abort") are a stop.
        finish_reason=finish if finish in ("length", "cancelled") else "stop",
        # An engine that sends no usage (few do) leaves the pieces as the count.
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else pieces,
        seconds=time.monotonic() - started,
    )


def _deadline(progress: JobProgress) -> float:
    """GENHUB_JOB_SOFT_TIME_LIMIT after the job was claimed, on the monotonic clock."""
    limit = float(settings.GENHUB_JOB_SOFT_TIME_LIMIT)
    started_at = progress.job.started_at
    spent = (timezone.now() - started_at).total_seconds() if started_at else 0.0
    return time.monotonic() + limit - max(spent, 0.0)


def _open(client: openai.OpenAI, engine: Engine, request: EngineRequest) -> Any:
    common: dict[str, Any] = {
        "model": engine.model,
        "max_tokens": request.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        **request.sampling,
    }
    if request.extra:
        common["extra_body"] = request.extra
    if request.messages is not None:
        return client.chat.completions.create(messages=request.messages, **common)  # type: ignore[arg-type]
    return client.completions.create(prompt=request.prompt or "", **common)


def _delta(choice: Any, chat: bool) -> str:
    """The new text in a streamed choice: a chat chunk's delta, a completion's text."""
    text = choice.delta.content if chat else choice.text
    # NUL is never meant as text, and PostgreSQL cannot store it.
    return (text or "").replace("\x00", "")


def _past_deadline(engine: Engine) -> JobError:
    return JobError(
        f"The job ran past the worker's time limit of {settings.GENHUB_JOB_SOFT_TIME_LIMIT} s "
        f"while {engine} was generating. Ask for fewer tokens, or ask an admin to raise "
        "GENHUB_JOB_SOFT_TIME_LIMIT or to check the engine's load."
    )


def _engine_error(engine: Engine, error: Exception) -> JobError:
    """A sentence that names the engine and says what to check."""
    log.warning("%s failed: %r", engine, error)
    if isinstance(error, openai.APITimeoutError | httpx2.TimeoutException):
        return JobError(
            f"{str(engine).capitalize()} did not answer in time. Check that it is running "
            "and not overloaded."
        )
    if isinstance(error, openai.APIConnectionError | httpx2.ConnectError):
        return JobError(
            f"Could not reach {engine}. Check that the engine is running and that the "
            "model's source is its base URL, such as http://127.0.0.1:8001/v1."
        )
    if isinstance(error, openai.APIStatusError):
        detail = without_internals(_detail(error))[:300]
        check = "Check the engine's log."
        if error.status_code in (401, 403):
            where = (
                f"the environment variable {engine.api_key_env}"
                if engine.api_key_env
                else ("an environment variable named in options.api_key_env")
            )
            check = f"Check the API key in {where} on the workers."
        elif error.status_code == 404:
            check = (
                "Check that options.engine_model names a model the engine serves and that "
                "the source is its base URL (usually ending in /v1)."
            )
        elif 400 <= error.status_code < 500:
            check = "The engine refused the request's params; see its answer above."
        return JobError(
            f"{str(engine).capitalize()} answered HTTP {error.status_code}: {detail}. {check}"
        )
    reason = without_internals(str(error))[:300] or type(error).__name__
    return JobError(
        f"The stream from {engine} broke off ({reason}). Check the engine's log; the job "
        "may be submitted again."
    )


def _detail(error: openai.APIStatusError) -> str:
    """What the engine said: OpenAI's {"error": {"message"}} or FastAPI's {"detail"}."""
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if body.get("detail"):
            return str(body["detail"])
    return error.message


class _Watchdog:
    """Calls `close` once the job is cancelled or its deadline passes, whatever
    the engine is doing; `reason` says which."""

    def __init__(self, progress: JobProgress, deadline: float, close: Callable[[], None]) -> None:
        self.progress = progress
        self.deadline = deadline
        self.close = close
        self.reason = ""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="engine-watchdog")

    def __enter__(self) -> "_Watchdog":
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Not joined: it notices within WATCH_SECONDS, and the job need not wait for it.
        self._done.set()

    def _run(self) -> None:
        while not self._done.is_set():
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.reason = "deadline"
                break
            if self.progress.wait_for_cancel(min(remaining, WATCH_SECONDS)):
                self.reason = "cancelled"
                break
        else:
            return
        if self._done.is_set():
            return
        log.info("job %s: closing the engine stream (%s)", self.progress.job.pk, self.reason)
        try:
            self.close()
        except Exception:
            log.exception("could not close the engine stream of job %s", self.progress.job.pk)
