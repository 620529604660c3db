"""The text runner: load a causal language model with transformers, generate with
a streamer, return the text. Workers import this module; the web process never does.

A model whose source type is `engine` is not loaded here: its text comes from an
external OpenAI-compatible engine (textgen/engine.py), on the thread-pool workers
of queue `engine`.

Device and precision: CUDA in half precision (bf16 where supported) when there is
a GPU, float32 on CPU; `AIModel.device` and `AIModel.dtype` override both.
"""

import logging
import random
import time
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria

from genhub.errors import JobCancelled, JobError
from genhub.models import AIModel, Job
from genhub.worker.devices import pick_dtype, seed_everything
from genhub.worker.loading import (
    load_cached,
    load_failed,
    out_of_memory_becomes,
    preload_cached,
    pretrained_location,
)
from genhub.worker.progress import JobProgress
from textgen import engine
from textgen.gguf import converted_gguf_dir
from textgen.params import TextParams
from textgen.streaming import TextDeltaStreamer

log = logging.getLogger(__name__)


# --- load -------------------------------------------------------------------


def load(aimodel: AIModel, device: str) -> tuple[Any, Any]:
    """(model, tokenizer) for any registered text model, ready on `device`."""
    if aimodel.source_type == AIModel.SourceType.GGUF:
        # Dequantising a GGUF file takes a while; it is done once and the result
        # is saved beside the other models (see textgen/gguf.py).
        location, options = str(converted_gguf_dir(aimodel.source)), dict[str, Any]()
    else:
        location, options = pretrained_location(aimodel)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, **options)
        model = AutoModelForCausalLM.from_pretrained(
            location, dtype=pick_dtype(aimodel.dtype, device), **options
        )
    except (OSError, ValueError) as error:
        raise load_failed(aimodel, error) from error
    model.to(device).eval()  # type: ignore[arg-type]  # transformers types .to narrowly
    return model, tokenizer


def _nbytes(loaded: tuple[Any, Any]) -> int:
    model, _ = loaded
    return sum(p.numel() * p.element_size() for p in model.parameters())


def preload(aimodel: AIModel) -> bool:
    """Load the model before its first job: the admin's Preload (genhub/worker/commands.py).
    False when it was loaded already, or when an engine holds it."""
    if aimodel.source_type == AIModel.SourceType.ENGINE:
        return False
    return preload_cached(aimodel, load, _nbytes)


# --- generate ---------------------------------------------------------------


class _StopWhen(StoppingCriteria):
    """Ends generation when `should_stop()` says so (a stop string, a cancel).

    generate() asks every step; the answer tensor is made once and refilled, so a
    step costs no new tensor (on a GPU, no allocation and no host-to-device copy
    while the flag stays False)."""

    def __init__(self, should_stop: Any) -> None:
        self.should_stop = should_stop
        self.flags: torch.Tensor | None = None
        self.stopped = False

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        rows = input_ids.shape[0]
        if self.flags is None or self.flags.shape[0] != rows:
            self.flags = torch.zeros(rows, dtype=torch.bool, device=input_ids.device)
            self.stopped = False
        stop = bool(self.should_stop())
        if stop != self.stopped:
            self.flags.fill_(stop)
            self.stopped = stop
        # StoppingCriteriaList combines answers with `|` into a new tensor, so
        # handing out the same one each step is safe.
        return self.flags  # type: ignore[return-value]  # generate() checks a bool tensor


def encode(tokenizer: Any, params: TextParams) -> dict[str, torch.Tensor]:
    if params.prompt is not None:
        return tokenizer(params.prompt, return_tensors="pt")
    messages = [m.model_dump() for m in params.messages or []]
    # Going on with the last (assistant) message: it is the start of the model's
    # turn, left open, rather than a finished turn followed by a new one.
    going_on = params.continue_final_message
    if tokenizer.chat_template:
        return tokenizer.apply_chat_template(
            messages,
            add_generation_prompt=not going_on,
            continue_final_message=going_on,
            return_tensors="pt",
            return_dict=True,
        )
    # A base model without a template still gets a readable transcript.
    transcript = "".join(f"{m['role']}: {m['content']}\n" for m in messages)
    transcript = transcript[:-1] if going_on else transcript + "assistant:"
    return tokenizer(transcript, return_tensors="pt")


def run(job: Job, params: TextParams, progress: JobProgress) -> dict[str, Any]:
    aimodel = job.model
    if aimodel.source_type == AIModel.SourceType.ENGINE:
        return engine.run(job, params, progress)
    (model, tokenizer), device = load_cached(job, progress, load, _nbytes)

    context = context_length(model, tokenizer)
    params, dropped = fit_conversation(tokenizer, params, context)
    inputs = {k: v.to(device) for k, v in encode(tokenizer, params).items()}
    prompt_tokens = int(inputs["input_ids"].shape[1])
    if context and prompt_tokens + params.max_new_tokens > context:
        raise JobError(
            f"The prompt is {prompt_tokens} tokens and {params.max_new_tokens} new tokens were "
            f"asked for, but '{aimodel.name}' holds {context} in all. Shorten the prompt or "
            "lower max_new_tokens."
        )

    seed = params.seed if params.seed is not None else random.randrange(2**32)
    seed_everything(seed)

    streamer = TextDeltaStreamer(
        tokenizer,
        params.stop,
        on_delta=lambda delta, done: progress.text(delta, done, params.max_new_tokens),
    )
    stopping = [_StopWhen(lambda: streamer.should_stop or progress.cancel_requested)]
    started = time.monotonic()
    out_of_memory = (
        f"The GPU ran out of memory generating {params.max_new_tokens} tokens from a "
        f"{prompt_tokens}-token prompt. Lower max_new_tokens or shorten the prompt."
    )
    with out_of_memory_becomes(out_of_memory), torch.inference_mode():
        model.generate(
            **inputs,
            **_sampling(params),
            max_new_tokens=params.max_new_tokens,
            streamer=streamer,
            stopping_criteria=stopping,
            **_cache(aimodel),
            pad_token_id=model.generation_config.pad_token_id
            or model.generation_config.eos_token_id,
        )
    finished = time.monotonic()
    seconds = finished - started

    completion_tokens = len(streamer.ids)
    progress.metrics.update(
        generate_seconds=round(seconds, 3),
        tokens_per_second=round(completion_tokens / seconds, 2) if seconds > 0 else None,
        **_prefill_and_decode(started, streamer.first_token_at, finished, completion_tokens),
    )
    result = {
        "text": streamer.text,
        "finish_reason": _finish_reason(streamer, progress, completion_tokens, params),
        "seed": seed,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }
    if params.conversation is not None:
        result["truncated_turns"] = dropped
        progress.metrics.update(truncated_turns=dropped)
        if dropped:
            left_out = "The oldest turn was" if dropped == 1 else f"The {dropped} oldest turns were"
            result["note"] = f"{left_out} left out to fit the model's context of {context} tokens."
    if result["finish_reason"] == "cancelled":
        raise JobCancelled(partial_result=result)
    return result


def context_length(model: Any, tokenizer: Any) -> int | None:
    """How many tokens the model holds, prompt and answer together: its config's
    positions, else what its tokenizer says (which is a huge placeholder when the
    tokenizer does not know)."""
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions:
        return int(positions)
    stated = getattr(tokenizer, "model_max_length", None)
    return int(stated) if stated and stated < 10**9 else None


def fit_conversation(
    tokenizer: Any, params: TextParams, context: int | None
) -> tuple[TextParams, int]:
    """A conversation's turn with its oldest turns left out (each a user message
    and its answer) until the prompt and max_new_tokens fit `context`; the system
    prompt and the last user message always stay (if they alone do not fit, the
    job fails as any prompt that is too long). Returns the params and how many
    turns were left out. A request that is not a conversation is sent as it came."""
    if params.conversation is None or not params.messages or not context:
        return params, 0
    system = [m for m in params.messages[:1] if m.role == "system"]
    rest = params.messages[len(system) :]
    dropped = 0
    while True:
        trimmed = params.model_copy(update={"messages": [*system, *rest]})
        prompt_tokens = int(encode(tokenizer, trimmed)["input_ids"].shape[1])
        if prompt_tokens + params.max_new_tokens <= context:
            return trimmed, dropped
        following = next((i for i, m in enumerate(rest) if i > 0 and m.role == "user"), None)
        if following is None:
            return trimmed, dropped  # only the last turn left: too long, as it is
        rest = rest[following:]
        dropped += 1


def _prefill_and_decode(
    started: float, first_token_at: float | None, finished: float, tokens: int
) -> dict[str, float]:
    """Prefill (reading the prompt, up to the first new token) and decode (each
    token after it) timed apart: a long prompt slows the first, a big model the second."""
    if first_token_at is None:
        return {}
    timings = {"prefill_seconds": round(first_token_at - started, 3)}
    decoding = finished - first_token_at
    if tokens > 1 and decoding > 0:
        timings["decode_tokens_per_second"] = round((tokens - 1) / decoding, 2)
    return timings


def _cache(aimodel: AIModel) -> dict[str, Any]:
    """options.compile: a static KV cache, sized once per call, which lets
    generate() compile the model's forward pass with torch.compile on a GPU
    (transformers does so by itself for a static cache on CUDA). The first job
    after loading pays for compiling; later ones decode faster. On a CPU the
    cache is static but nothing is compiled."""
    if aimodel.options.get("compile"):
        return {"cache_implementation": "static"}
    return {}


def _sampling(params: TextParams) -> dict[str, Any]:
    if params.temperature == 0:
        return {"do_sample": False, "repetition_penalty": params.repetition_penalty}
    return {
        "do_sample": True,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k or None,
        "repetition_penalty": params.repetition_penalty,
    }


def _finish_reason(
    streamer: TextDeltaStreamer, progress: JobProgress, tokens: int, params: TextParams
) -> str:
    if streamer.stopped_at_stop_string:
        return "stop"
    if progress.cancel_requested:
        return "cancelled"
    if tokens >= params.max_new_tokens:
        return "length"
    return "stop"
