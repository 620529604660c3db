"""A modality's generation page: its form (which also works with JavaScript off),
drawn from its params schema, beside the caller's queued and recent jobs. A
modality's own view only says which fields its form shows."""

from collections.abc import Callable
from typing import Any

import pydantic
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from genhub import modalities
from genhub.errors import BodyTooLarge, InvalidInput, QuotaExceeded
from genhub.jobs import NoWorkerForQueue, QueueUnavailable, submit_job
from genhub.models import AIModel, Job, JobStatus
from genhub.request_bodies import generation_fields
from genhub.waiting import add_waiting_notes
from genhub.web.forms import errors_by_field, schema_fields
from genhub.web.reuse import form_values, job_to_reuse

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def generation_page(
    request: HttpRequest,
    modality: str,
    template: str,
    *,
    basic: list[str],
    advanced: list[str],
    kinds: dict[str, str] | None = None,
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
    submit: Callable[[dict[str, Any], str | None], HttpResponse] | None = None,
) -> HttpResponse:
    """GET: the form. POST (the form without JavaScript): submit the job and go to
    its page, or show the form again with each error beside its field. `submit`,
    when given, does what a valid POST does instead (the chat continues its
    conversation); it gets the prepared fields and the model's name."""
    schema = modalities.get(modality).params_schema
    models = list(AIModel.objects.enabled().filter(modality=modality))
    values: dict[str, Any] = {}
    # "Use these settings" (genhub/web/reuse.py): the form filled from a job of the caller's.
    reused = None
    if request.method == "GET" and request.GET.get("from"):
        reused = job_to_reuse(_user(request), modality, request.GET["from"])
        values = form_values(reused) if reused else {}
    wanted_model = request.POST.get("model") or values.get("model")
    chosen = next((m for m in models if m.name == wanted_model), None)
    chosen = chosen or next((m for m in models if m.is_default), models[0] if models else None)
    errors: dict[str, str] = {}
    status = 200
    retry_after: int | None = None
    if request.method == "POST":
        values = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        try:
            fields = generation_fields(request, schema)
            fields.pop("csrfmiddlewaretoken", None)
            model = fields.pop("model", None)
            fields = prepare(fields) if prepare else fields
            if submit is not None:
                return submit(fields, model)
            job = submit_job(_user(request), modality, model, fields)
            return redirect("job", job.pk)
        except InvalidInput as error:
            errors = {error.field: error.message}
        except pydantic.ValidationError as error:
            errors = errors_by_field(error.errors(include_url=False, include_input=False))
        except BodyTooLarge as error:
            errors = {"__all__": str(error)}
        except QueueUnavailable:
            errors = {"__all__": "The job queue is unreachable, so nothing was queued. Try again."}
        except NoWorkerForQueue as error:
            errors = {"__all__": str(error)}
        except QuotaExceeded as error:
            errors = {"__all__": error.message}
            retry_after = error.retry_after
        status = 422 if retry_after is None else 429
    defaults = chosen.usable_default_params if chosen else {}
    limits = chosen.field_limits if chosen else {}
    made: dict[str, Any] = dict(
        defaults=defaults, values=values, errors=errors, kinds=kinds, limits=limits
    )
    page = {
        "modality": modality,
        "models": models,
        "chosen": chosen,
        "basic": schema_fields(schema, basic, **made),
        "advanced": schema_fields(schema, advanced, **made),
        "errors": errors,
        "form_error": errors.get("__all__") or errors.get("body", ""),
        "values": values,
        "reused": reused,
        "active_jobs": _active_jobs(request, modality),
        "recent_jobs": _recent_jobs(request, modality),
        **(context or {}),
    }
    response = render(request, template, page, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _active_jobs(request: HttpRequest, modality: str) -> list[Job]:
    jobs = Job.objects.filter(owner=_user(request), modality=modality, status__in=ACTIVE)
    active = list(jobs.select_related("model").order_by("created_at"))
    add_waiting_notes(active)
    return active


def _recent_jobs(request: HttpRequest, modality: str) -> list[Job]:
    jobs = Job.objects.filter(owner=_user(request), modality=modality, status=JobStatus.SUCCEEDED)
    return list(jobs.select_related("model").prefetch_related("artifacts")[:12])


def _user(request: HttpRequest) -> Any:
    return request.user
