"""A job's params and metrics as its page shows them: labels a person reads,
units, lists and objects as JSON (never a Python repr), and the seed the job
actually used rather than the "random" it was asked for."""

import json
from dataclasses import dataclass
from typing import Any

from genhub.models import Job
from genhub.web.forms import label_for

# name: (label, how the value reads)
METRICS: dict[str, tuple[str, str]] = {
    "queue_seconds": ("Waited in queue", "{:.2f} s"),
    "load_seconds": ("Model load", "{:.2f} s"),
    "model_cache_hit": ("Model already loaded", "yes/no"),
    "first_text_seconds": ("First text after", "{:.2f} s"),
    "generate_seconds": ("Generation", "{:.2f} s"),
    "tokens_per_second": ("Speed", "{:.1f} tokens/s"),
    "seconds_per_image": ("Per image", "{:.2f} s"),
    "realtime_factor": ("Speed", "{:.2f}× real time"),
    "memory_savers": ("Memory savers used", "yes/no"),
}


@dataclass
class Detail:
    label: str
    value: str
    messages: list[dict[str, Any]] | None = None  # a chat, shown as one line per message


def metric_details(job: Job) -> list[Detail]:
    metrics = job.metrics if isinstance(job.metrics, dict) else {}
    details = []
    # The known ones in the order they happen, then any others.
    for name, value in sorted(metrics.items(), key=lambda item: _rank(item[0])):
        label, shape = METRICS.get(name, (label_for(name), "{}"))
        details.append(Detail(label, _shown(value, shape)))
    return details


def param_details(job: Job) -> list[Detail]:
    params = job.params if isinstance(job.params, dict) else {}
    details = []
    for name, value in params.items():
        if name == "messages" and isinstance(value, list):
            details.append(Detail(label_for(name), "", messages=value))
        elif name == "seed":
            details.append(Detail(label_for(name), _seed(job, value)))
        else:
            details.append(Detail(label_for(name), _shown(value, "{}")))
    return details


def _rank(metric: str) -> int:
    return list(METRICS).index(metric) if metric in METRICS else len(METRICS)


def _seed(job: Job, asked: Any) -> str:
    """The seed(s) used: as asked, or the one picked when none was given."""
    result = job.result if isinstance(job.result, dict) else {}
    used = result.get("seeds") or ([result["seed"]] if result.get("seed") is not None else [])
    if not used:
        return "—" if asked is None else str(asked)
    seeds = ", ".join(str(seed) for seed in used)
    return seeds if asked is not None else f"{seeds} (picked at random)"


def _shown(value: Any, shape: str) -> str:
    if value is None or value == [] or value == {} or value == "":
        return "—"
    if shape == "yes/no" or isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    try:
        return shape.format(value)
    except (ValueError, TypeError):
        return str(value)
