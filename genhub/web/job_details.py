"""A job's params, metrics and chat as its page shows them: labels a person reads
("Time in queue", never `queue_seconds`), units, a chat as role-labelled
messages, and the seed the job actually used rather than the "random" it was
asked for. Nothing here hands a Python repr to a page: lists of words read as
words, anything else as JSON."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genhub.models import Job
from genhub.web.forms import label_for


@dataclass
class Detail:
    label: str
    value: str
    url: str = ""  # the value links here


@dataclass
class Bubble:
    """One message of a chat job: who said it, and what."""

    role: str  # system | user | assistant: the CSS class
    label: str
    content: str
    answer: bool = False  # the job's own answer, not part of what it was sent


ROLE_LABELS = {"system": "System prompt", "user": "User", "assistant": "Assistant"}


def duration(seconds: float) -> str:
    """420 ms, 2.51 s, 1 min 5 s, 2 h 3 min."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60} min"


def _number(shape: str) -> Callable[[Any], str]:
    return lambda value: shape.format(float(value))


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _count(value: Any) -> str:
    return f"{int(value):,}"


# name: (label, how the value reads), in the order things happen
METRICS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "queue_seconds": ("Time in queue", duration),
    "download_seconds": ("Model download", duration),
    "load_seconds": ("Model load", duration),
    "model_cache_hit": ("Model already loaded", _yes_no),
    "first_text_seconds": ("Time to first token", duration),
    "prefill_seconds": ("Prompt processing", duration),
    "generate_seconds": ("Generation time", duration),
    "tokens_per_second": ("Tokens per second", _number("{:.1f}")),
    "decode_tokens_per_second": ("Tokens per second after the first", _number("{:.1f}")),
    "seconds_per_image": ("Time per image", duration),
    "realtime_factor": ("Speed", _number("{:.2f}× real time")),
    "batch_size": ("Images in its batch", _count),
    "batch_jobs": ("Jobs in its batch", _count),
    "batch_seconds": ("Batch time", duration),
    "batch_failed": ("Run alone after its batch failed", _yes_no),
    "save_seconds": ("Saving the files", duration),
    "memory_savers": ("Memory savers used", _yes_no),
    "truncated_turns": ("Oldest turns left out", _count),
}

# Params whose value has a unit.
PARAM_UNITS = {"duration": "{} s"}
# Params that say nothing when empty: the other of prompt or messages, no conversation.
QUIET_WHEN_EMPTY = {"prompt", "messages", "conversation"}


def metric_details(job: Job) -> list[Detail]:
    metrics = job.metrics if isinstance(job.metrics, dict) else {}
    details = []
    if job.started_at and job.finished_at:
        run = (job.finished_at - job.started_at).total_seconds()
        details.append(Detail("Run time", duration(max(run, 0.0))))
    for name, value in sorted(metrics.items(), key=lambda item: _rank(item[0])):
        label, shown = METRICS.get(name, (label_for(name), _plain))
        details.append(Detail(label, _blank_or(value, shown)))
    steps = _steps_per_second(job, metrics)
    if steps:
        details.append(Detail("Steps per second", f"{steps:.2f}"))
    details.extend(_usage(job))
    return details


def param_details(job: Job) -> list[Detail]:
    params = job.params if isinstance(job.params, dict) else {}
    details = []
    for name, value in params.items():
        if name == "messages" or (name in QUIET_WHEN_EMPTY and value in (None, "")):
            continue  # a chat is shown as the conversation (chat_bubbles)
        if name == "seed":
            details.append(Detail(label_for(name), _seed(job, value)))
        elif name == "conversation" and value:
            details.append(Detail("Conversation", "Open it", url=f"/text/?c={value}"))
        elif isinstance(value, str) and value.startswith("artifact:"):
            details.append(Detail(label_for(name), "A file you gave (see Inputs)"))
        elif name in PARAM_UNITS and value is not None:
            details.append(Detail(label_for(name), PARAM_UNITS[name].format(value)))
        else:
            details.append(Detail(label_for(name), _blank_or(value, _plain)))
    return details


def chat_bubbles(job: Job) -> list[Bubble]:
    """A chat job's messages, then its answer; [] for a job that was not a chat."""
    params = job.params if isinstance(job.params, dict) else {}
    messages = params.get("messages")
    if not isinstance(messages, list):
        return []
    bubbles = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role", "user"))
        label = ROLE_LABELS.get(role, role.capitalize())
        bubbles.append(Bubble(role, label, str(message.get("content", ""))))
    answer = used_result(job).get("text")
    if answer:
        bubbles.append(Bubble("assistant", "Answer", str(answer), answer=True))
    return bubbles


def used_seed(job: Job) -> int | None:
    """The seed the job ran with (its first, for several images): as asked, or
    the one picked when none was given; None before it ran."""
    result = used_result(job)
    seeds = result.get("seeds")
    if isinstance(seeds, list) and seeds:
        return _int_or_none(seeds[0])
    if result.get("seed") is not None:
        return _int_or_none(result["seed"])
    params = job.params if isinstance(job.params, dict) else {}
    return _int_or_none(params.get("seed"))


def used_result(job: Job) -> dict[str, Any]:
    return job.result if isinstance(job.result, dict) else {}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rank(metric: str) -> int:
    return list(METRICS).index(metric) if metric in METRICS else len(METRICS)


def _seed(job: Job, asked: Any) -> str:
    """The seed(s) used: as asked, or the one picked when none was given."""
    result = used_result(job)
    used = result.get("seeds") or ([result["seed"]] if result.get("seed") is not None else [])
    if not used:
        return "random" if asked is None else str(asked)
    seeds = ", ".join(str(seed) for seed in used)
    return seeds if asked is not None else f"{seeds} (picked at random)"


def _steps_per_second(job: Job, metrics: dict[str, Any]) -> float | None:
    """Denoising steps a second, as A1111's it/s: steps over the time of the
    pipeline call (a batch denoises all its images in each step)."""
    if job.modality != "image" or not isinstance(job.params, dict):
        return None
    seconds = metrics.get("batch_seconds") or metrics.get("generate_seconds")
    steps = job.params.get("steps")
    if not isinstance(seconds, int | float) or not isinstance(steps, int) or seconds <= 0:
        return None
    if job.params.get("init_image"):  # image-to-image runs steps × strength of them
        steps = max(1, int(steps * float(job.params.get("strength") or 1.0)))
    return steps / seconds


def _usage(job: Job) -> list[Detail]:
    usage = used_result(job).get("usage")
    if not isinstance(usage, dict):
        return []
    details = []
    for key, label in (("prompt_tokens", "Prompt tokens"), ("completion_tokens", "Tokens made")):
        if isinstance(usage.get(key), int):
            details.append(Detail(label, _count(usage[key])))
    return details


def _blank_or(value: Any, shown: Callable[[Any], str]) -> str:
    if value is None or value == [] or value == {} or value == "":
        return "—"
    try:
        return shown(value)
    except (TypeError, ValueError):
        return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(f"“{item}”" for item in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
