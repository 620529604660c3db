""" "Use these settings": a modality's page opened from one of the caller's jobs
(`/images/?from=<job id>`) shows its form filled with that job's params: the
prompt, the model, the sampling settings and the seed it actually used, so the
same request can be sent again or changed a little.

Files given with the job (an init image, a melody clip) are not carried over: a
file input cannot be filled in by a page."""

from typing import Any
from uuid import UUID

from django.urls import reverse

from genhub import modalities
from genhub.models import Job
from genhub.web.job_details import used_result, used_seed

# Params a form has no field for: sent as a file, kept as the chat, or not asked.
NOT_IN_FORMS = {"messages", "conversation", "stop", "init_image", "melody"}


def reuse_url(job: Job) -> str | None:
    """Where "Use these settings" goes for `job`; None for a job it cannot refill
    (a model download, or a modality whose app is gone)."""
    modality = modalities.find(job.modality)
    if modality is None or job.kind != "generate":
        return None
    return f"{reverse(modality.page_name)}?from={job.pk}"


def job_to_reuse(owner: Any, modality: str, wanted: str) -> Job | None:
    """The caller's own `modality` job that `wanted` names; None for anything else
    (another user's job, a bad id): the page then opens as usual."""
    try:
        job_id = UUID(wanted)
    except (TypeError, ValueError):
        return None
    mine = Job.objects.filter(owner=owner, modality=modality).select_related("model")
    return mine.filter(pk=job_id).first()


def form_values(job: Job) -> dict[str, str]:
    """The job's params as a sent-back form holds them (strings, "" for none)."""
    params = job.params if isinstance(job.params, dict) else {}
    values = {name: _as_field(value) for name, value in params.items() if name not in NOT_IN_FORMS}
    seed = used_seed(job)
    if "seed" in params or seed is not None:
        values["seed"] = "" if seed is None else str(seed)
    result = used_result(job)
    for side in ("width", "height"):  # left to the model: the size it made
        if side in params and params[side] is None and result.get(side):
            values[side] = str(result[side])
    messages = params.get("messages")
    if isinstance(messages, list):  # the chat's form: its system prompt and last question
        said = [m for m in messages if isinstance(m, dict)]
        system = [str(m.get("content", "")) for m in said if m.get("role") == "system"]
        asked = [str(m.get("content", "")) for m in said if m.get("role") == "user"]
        values["system"] = system[0] if system else ""
        values["message"] = asked[-1] if asked else ""
    elif job.modality == "text" and isinstance(params.get("prompt"), str):
        values["message"] = params["prompt"]
    values["model"] = job.model.name
    return values


def _as_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    return str(value)
