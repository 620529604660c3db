"""The history page (a gallery of the caller's jobs, searched and filtered with a
plain GET form) and deleting jobs from it or from a job page: a POST that first
shows what it would delete and asks; with JavaScript the page asks in a dialog
and sends the confirmation at once (static/js/history.js)."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from genhub.job_deletion import MAX_IDS, delete_jobs
from genhub.models import Job
from genhub.waiting import add_waiting_notes
from genhub.web.gallery import (
    PAGE_SIZE,
    HistoryFilters,
    card_for,
    filters_query,
    matching_jobs,
    model_names,
)


@login_required
def history_page(request: HttpRequest) -> HttpResponse:
    owner = request.user
    filters = HistoryFilters(request.GET, model_names=model_names(owner))
    chosen = filters.chosen()
    page = Paginator(matching_jobs(owner, chosen), PAGE_SIZE).get_page(request.GET.get("page"))
    jobs = list(page)
    add_waiting_notes(jobs)  # the ETAs of the page's queued and running jobs, at once
    context = {
        "page": page,
        "cards": [card_for(job) for job in jobs],
        "filters": filters,
        "filtered": bool(chosen),
        "query": filters_query(chosen),
        "select_all": request.GET.get("select") == "all",
    }
    status = 400 if filters.errors else 200
    return render(request, "history.html", context, status=status)


@login_required
@require_POST
def delete_from_history(request: HttpRequest) -> HttpResponse:
    """POST `ids` (and `next`, where to go back to). Without `confirm=yes`, the
    page that asks; with it, the deletion, then back with what happened."""
    back = _next(request)
    ids = _job_ids(request.POST.getlist("ids"))
    if not ids:
        messages.info(request, "Select the jobs to delete first.")
        return redirect(back)
    if request.POST.get("confirm") != "yes":
        mine = Job.objects.filter(owner=_user(request), pk__in=ids)
        chosen = list(mine.select_related("model"))
        context = {"jobs": chosen, "next": back}
        return render(request, "history_delete.html", context)
    outcome = delete_jobs(request.user, ids)
    if outcome.deleted:
        count = len(outcome.deleted)
        messages.success(
            request, f"Deleted {_jobs(count)} and {'its' if count == 1 else 'their'} files."
        )
    if outcome.active:
        count = len(outcome.active)
        messages.warning(
            request,
            f"{_jobs(count).capitalize()} not deleted: still queued or running. Cancel "
            f"{'it' if count == 1 else 'them'} first, then delete.",
        )
    if any(back.startswith(reverse("job", args=[job_id])) for job_id in outcome.deleted):
        back = reverse("history")  # the page it came from is gone
    return redirect(back)


def _user(request: HttpRequest) -> Any:
    return request.user


def _jobs(count: int) -> str:
    return "1 job" if count == 1 else f"{count} jobs"


def _job_ids(values: list[str]) -> list[UUID]:
    ids = []
    for value in values[:MAX_IDS]:
        try:
            ids.append(UUID(value))
        except ValueError:
            continue  # not a job id: nothing of the caller's to delete
    return ids


def _next(request: HttpRequest) -> str:
    wanted = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe and wanted.startswith("/") else reverse("history")
