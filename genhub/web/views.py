"""The pages every modality shares: home, and a job (with its answer as a text
file). The history is genhub/web/history.py."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from genhub import modalities
from genhub.download_names import artifact_download_name, content_disposition, download_name
from genhub.models import AIModel, Job
from genhub.waiting import add_waiting_notes
from genhub.web.job_details import (
    chat_bubbles,
    metric_details,
    param_details,
    used_result,
    used_seed,
)
from genhub.web.reuse import reuse_url


def home(request: HttpRequest) -> HttpResponse:
    models = list(AIModel.objects.enabled())
    sections = [
        {"modality": m, "models": [model for model in models if model.modality == m.name]}
        for m in modalities.all_modalities()
    ]
    return render(request, "home.html", {"sections": sections})


@login_required
def job_page(request: HttpRequest, job_id: str) -> HttpResponse:
    job = get_object_or_404(
        Job.objects.visible_to(_user(request))
        .select_related("model")
        .prefetch_related("artifacts"),
        pk=job_id,
    )
    add_waiting_notes([job])
    outputs = [a for a in job.artifacts.all() if a.role == "output"]
    inputs = [a for a in job.artifacts.all() if a.role == "input"]
    for group in (outputs, inputs):
        for artifact in group:  # what each file downloads as (genhub/download_names.py)
            artifact.download_name = artifact_download_name(artifact, job.prompt, len(group))
    modality = modalities.find(job.modality)
    page = {
        "job": job,
        "modality_label": modality.label if modality else job.modality.capitalize(),
        # How the modality shows its results; plain links for a modality whose
        # app is gone (its jobs stay readable).
        "result_template": modality.result_template if modality else "partials/result_files.html",
        "outputs": outputs,
        "inputs": inputs,
        "metrics": metric_details(job),
        "params": param_details(job),
        "chat": chat_bubbles(job),
        "reuse_url": reuse_url(job),
        "answer_name": _answer_name(job) if isinstance(used_result(job).get("text"), str) else "",
    }
    return render(request, "job.html", page)


@login_required
def job_answer(request: HttpRequest, job_id: str) -> HttpResponse:
    """A text job's answer as a .txt file, named from its prompt."""
    job = get_object_or_404(Job.objects.visible_to(_user(request)), pk=job_id)
    text = used_result(job).get("text")
    if not isinstance(text, str):
        raise Http404("This job has no text answer.")
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition(_answer_name(job), attachment=True)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _answer_name(job: Job) -> str:
    return download_name(job.prompt, "txt", seed=used_seed(job), suffix="answer")


def _user(request: HttpRequest) -> Any:
    return request.user
