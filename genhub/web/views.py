"""The pages every modality shares: home, a job, the history."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from genhub import modalities
from genhub.models import AIModel, Job, JobStatus
from genhub.waiting import add_waiting_notes
from genhub.web.job_details import metric_details, param_details


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
    }
    return render(request, "job.html", page)


@login_required
def history_page(request: HttpRequest) -> HttpResponse:
    jobs = Job.objects.filter(owner=_user(request)).select_related("model")
    modality, status = request.GET.get("modality", ""), request.GET.get("status", "")
    if modality:
        jobs = jobs.filter(modality=modality)
    if status:
        jobs = jobs.filter(status=status)
    page = Paginator(jobs.prefetch_related("artifacts"), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "history.html",
        {
            "page": page,
            "modality": modality,
            "status": status,
            "modalities": [m.name for m in modalities.all_modalities()],
            "statuses": [s.value for s in JobStatus],
        },
    )


def _user(request: HttpRequest) -> Any:
    return request.user
