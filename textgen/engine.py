"""Text from an external OpenAI-compatible engine: the text runner's branch for
models whose source type is `engine`. Maps TextParams onto an OpenAI request,
streams it (genhub/worker/engine_client.py) into the same `token` events, and
returns the same result as the in-process runner.

Differences from the in-process runner, on purpose:
- the seed is passed on, but whether it is honoured per request is the
  engine's business (vLLM honours it; `transformers serve --continuous-batching`
  does not), so `seed` in the result is what was asked for, or null;
- stop strings are sent to the engine and applied here too, since some engines
  ignore them; text that may begin one is held back until it is known not to;
- top_k and repetition_penalty are not OpenAI fields: they go to the engine only
  when they differ from the schema's defaults (the stored params hold every
  field, so "was it set" cannot be told), and an engine that does not know them
  (`transformers serve`) answers an error that the job reports. At the defaults
  the engine's own sampling applies (vLLM's top_k default is off, not 50).
"""

from typing import Any

from genhub.errors import JobCancelled
from genhub.models import Job
from genhub.worker import engine_client
from genhub.worker.loading import check_config
from genhub.worker.progress import JobProgress
from textgen.params import TextParams


def run(job: Job, params: TextParams, progress: JobProgress) -> dict[str, Any]:
    check_config(job.model)
    stops = StopStrings(params.stop)

    def on_text(delta: str, pieces: int) -> bool:
        sendable = stops.add(delta)
        if sendable:
            progress.text(sendable, min(pieces, params.max_new_tokens), params.max_new_tokens)
        return not stops.stopped

    reply = engine_client.stream(job.model, _request(params), progress, on_text)
    if rest := stops.rest():
        progress.text(rest, reply.completion_tokens, params.max_new_tokens)

    seconds = reply.seconds
    progress.metrics.update(
        generate_seconds=round(seconds, 3),
        tokens_per_second=round(reply.completion_tokens / seconds, 2) if seconds > 0 else None,
    )
    finish = "stop" if stops.stopped else reply.finish_reason
    result = {
        "text": stops.text,
        "finish_reason": finish,
        "seed": params.seed,
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
        },
    }
    if finish == "cancelled":
        raise JobCancelled(partial_result=result)
    return result


def _request(params: TextParams) -> engine_client.EngineRequest:
    sampling: dict[str, Any] = {"temperature": params.temperature, "top_p": params.top_p}
    if params.stop:
        sampling["stop"] = params.stop
    if params.seed is not None:
        sampling["seed"] = params.seed
    extra = {
        name: getattr(params, name)
        for name in ("top_k", "repetition_penalty")
        if getattr(params, name) != TextParams.model_fields[name].default
    }
    messages = [m.model_dump() for m in params.messages] if params.messages else None
    if params.continue_final_message:
        # vLLM's and SGLang's names: the last (assistant) message is the start of
        # the model's turn, which it goes on writing.
        extra.update(continue_final_message=True, add_generation_prompt=False)
    return engine_client.EngineRequest(
        max_tokens=params.max_new_tokens,
        messages=messages,
        prompt=params.prompt,
        sampling=sampling,
        extra=extra,
    )


class StopStrings:
    """Text as it streams in, cut before the first stop string. `add` returns what
    may be sent now: never text that could still turn out to begin a stop string."""

    def __init__(self, stop: list[str]) -> None:
        self.stop = stop
        self.longest = max((len(s) for s in stop), default=0)
        self.text = ""
        self.sent = 0
        self.stopped = False

    def add(self, delta: str) -> str:
        if self.stopped:
            return ""
        self.text += delta
        start = max(0, self.sent - self.longest)
        hits = [i for i in (self.text.find(s, start) for s in self.stop) if i >= 0]
        if hits:
            self.text = self.text[: min(hits)]
            self.stopped = True
            return self.rest()
        return self._take(len(self.text) - self._held_back())

    def rest(self) -> str:
        """Whatever is still held back: the stream ended, so it began no stop string."""
        return self._take(len(self.text))

    def _take(self, limit: int) -> str:
        if limit <= self.sent:
            return ""
        piece, self.sent = self.text[self.sent : limit], limit
        return piece

    def _held_back(self) -> int:
        for size in range(min(len(self.text), self.longest), 0, -1):
            tail = self.text[-size:]
            if any(s.startswith(tail) and s != tail for s in self.stop):
                return size
        return 0
