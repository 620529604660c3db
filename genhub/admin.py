"""Model management, jobs and API keys in the Django admin."""

from collections.abc import Callable
from typing import Any

import pydantic
import redis
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from genhub import modalities, model_commands
from genhub.artifacts import links
from genhub.error_messages import readable_errors
from genhub.errors import InvalidInput, QuotaExceeded
from genhub.jobs import (
    JobConflict,
    NoWorkerForQueue,
    QueueUnavailable,
    cancel_job,
    submit_download,
    submit_job,
)
from genhub.models import AIModel, ApiKey, Artifact, Job, UsagePolicy, Worker

SHORT_SOURCE = 40  # characters of a model's source in the model list


class AIModelForm(forms.ModelForm):
    # A choice from the registry, not free text. A callable, so it reads the
    # registry when the form is drawn, after every modality app has registered.
    modality = forms.ChoiceField(choices=modalities.choices)

    class Meta:
        model = AIModel
        fields = [
            "name",
            "modality",
            "source_type",
            "source",
            "revision",
            "dtype",
            "device",
            "enabled",
            "is_default",
            "pinned",
            "default_params",
            "options",
            "description",
        ]

    # An emptied JSON box means "none", not SQL NULL. AIModel.clean() then checks
    # both against the modality, and its errors land beside these fields.
    def clean_default_params(self) -> Any:
        return self.cleaned_data["default_params"] or {}

    def clean_options(self) -> Any:
        return self.cleaned_data["options"] or {}


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    form = AIModelForm
    # What tells the models apart at a glance, narrow enough for a 1366 px screen;
    # dtype, device and the full source are on each model's page.
    list_display = [
        "name",
        "modality",
        "source_type",
        "short_source",
        "queue",
        "enabled",
        "is_default",
        "pinned",
        "downloaded",
    ]
    list_filter = ["modality", "enabled", "is_default", "source_type"]
    list_editable = ["enabled"]
    search_fields = ["name", "source", "description"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["download", "preload_on_workers", "unload_from_workers", "test_generation"]

    @admin.display(description="source", ordering="source")
    def short_source(self, aimodel: AIModel) -> str:
        # The end of a path or repo id is what tells two sources apart.
        source = str(aimodel.source)
        return source if len(source) <= SHORT_SOURCE else "…" + source[-(SHORT_SOURCE - 1) :]

    @admin.display(description="downloaded", boolean=True)
    def downloaded(self, aimodel: AIModel) -> bool:
        return aimodel.downloaded

    @admin.action(description="Test: a short generation as you")
    def test_generation(self, request: HttpRequest, queryset: QuerySet[AIModel]) -> None:
        for aimodel in queryset:
            level, message = _submit_test(request.user, aimodel)
            self.message_user(request, message, level)

    @admin.action(description="Download")
    def download(self, request: HttpRequest, queryset: QuerySet[AIModel]) -> None:
        for aimodel in queryset:
            level, message = _submit_download(request.user, aimodel)
            self.message_user(request, message, level)

    @admin.action(description="Preload on its workers")
    def preload_on_workers(self, request: HttpRequest, queryset: QuerySet[AIModel]) -> None:
        self._tell_workers(request, queryset, model_commands.preload_on_workers, "preload")

    @admin.action(description="Unload from its workers")
    def unload_from_workers(self, request: HttpRequest, queryset: QuerySet[AIModel]) -> None:
        self._tell_workers(request, queryset, model_commands.unload_from_workers, "unload")

    def _tell_workers(
        self,
        request: HttpRequest,
        queryset: QuerySet[AIModel],
        tell: Callable[[AIModel], int],
        verb: str,
    ) -> None:
        for aimodel in queryset:
            queue = aimodel.job_queue
            try:
                heard = tell(aimodel)
            except redis.RedisError:
                self.message_user(
                    request,
                    f"Redis could not be reached, so no worker was asked to {verb} "
                    f"{aimodel.name}. Try again once it is back.",
                    messages.ERROR,
                )
                return
            if heard:
                processes = f"{heard} worker process{'es' if heard != 1 else ''}"
                self.message_user(
                    request,
                    f"Asked {processes} of queue '{queue}' to {verb} {aimodel.name}.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    f"No worker serves queue '{queue}' now, so none was asked to {verb} "
                    f"{aimodel.name}.",
                    messages.WARNING,
                )


def _submit_test(user: Any, aimodel: AIModel) -> tuple[int, str]:
    """(message level, message) for submitting `aimodel`'s modality's test request
    as `user`: a link to the job, or a sentence saying why there is none."""
    modality = modalities.find(aimodel.modality)
    if not aimodel.enabled:
        return messages.WARNING, f"{aimodel.name} is disabled, so it was not tested."
    if modality is None:
        return messages.ERROR, f"{aimodel.name} has no known modality, so it was not tested."
    try:
        job = submit_job(user, modality.name, aimodel.name, modality.test_params)
    except InvalidInput as error:
        return messages.ERROR, f"{aimodel.name} was not tested: {error.message}"
    except pydantic.ValidationError as error:
        found = [dict(e) for e in error.errors(include_url=False, include_input=False)]
        reasons = " ".join(e["msg"] for e in readable_errors(found))
        return messages.ERROR, f"{aimodel.name} was not tested: {reasons}"
    except NoWorkerForQueue as error:
        return messages.ERROR, f"{aimodel.name} was not tested. {error}"
    except QuotaExceeded as error:
        return messages.ERROR, f"{aimodel.name} was not tested. {error.message}"
    except QueueUnavailable:
        return _queue_unreachable(aimodel, "tested")
    return _submitted("Test job for", aimodel, job)


def _submit_download(user: Any, aimodel: AIModel) -> tuple[int, str]:
    """(message level, message) for a download job of `aimodel` as `user`: a link
    to the job, or why there is none."""
    if aimodel.source_type != AIModel.SourceType.HUB:
        return messages.INFO, f"{aimodel.name} is already local: nothing to download."
    try:
        job = submit_download(user, aimodel)
    except NoWorkerForQueue as error:
        return messages.ERROR, f"{aimodel.name} was not downloaded. {error}"
    except QueueUnavailable:
        return _queue_unreachable(aimodel, "downloaded")
    return _submitted("Download of", aimodel, job)


def _queue_unreachable(aimodel: AIModel, done: str) -> tuple[int, str]:
    return messages.ERROR, (
        f"{aimodel.name} was not {done}: the job queue (Redis) could not be reached. "
        "Try again once it is back."
    )


def _submitted(what: str, aimodel: AIModel, job: Job) -> tuple[int, str]:
    """A success message linking to the job's page."""
    url = reverse("job", args=[job.pk])
    return messages.SUCCESS, format_html(
        '{} {} submitted: <a href="{}">follow it on its page</a>.', what, aimodel.name, url
    )


class ArtifactInline(admin.TabularInline):
    model = Artifact
    extra = 0
    can_delete = False
    fields = ("preview", "role", "index", "mime_type", "width", "height", "seed", "bytes")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="file")
    def preview(self, artifact: Artifact) -> str:
        found = links(artifact)
        if found["thumbnail_url"]:
            return format_html(
                '<a href="{}"><img src="{}" alt="" style="max-height:64px"></a>',
                found["url"],
                found["thumbnail_url"],
            )
        return format_html('<a href="{}">open</a>', found["url"])


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    inlines = [ArtifactInline]
    list_display = [
        "id",
        "short_prompt",
        "owner",
        "modality",
        "kind",
        "model",
        "status",
        "progress",
        "attempts",
        "created_at",
        "duration",
    ]
    list_filter = ["status", "kind", "modality", "model"]
    search_fields = ["id", "prompt", "owner__username", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "model"]
    readonly_fields = [f.name for f in Job._meta.fields]
    actions = ["cancel_jobs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs come in through the API and pages, validated

    @admin.display(description="prompt")
    def short_prompt(self, job: Job) -> str:
        return job.prompt if len(job.prompt) <= 60 else job.prompt[:59] + "…"

    @admin.display(description="duration")
    def duration(self, job: Job) -> str:
        if job.started_at and job.finished_at:
            return f"{(job.finished_at - job.started_at).total_seconds():.1f} s"
        return "–"

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        done = 0
        for job in queryset:
            try:
                cancel_job(job)
                done += 1
            except JobConflict:
                pass
        self.message_user(request, f"Cancel requested for {done} job(s).", messages.SUCCESS)


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """What each worker process last reported; the workers write it, nobody else."""

    list_display = [
        "state_label",
        "node",
        "pid",
        "queues",
        "device",
        "memory",
        "models",
        "running_job",
        "seen",
    ]
    list_filter = ["pool", "hostname"]
    search_fields = ["node", "hostname", "queues"]
    list_select_related = ["job"]
    readonly_fields = [f.name for f in Worker._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="state")
    def state_label(self, worker: Worker) -> str:
        return worker.state

    @admin.display(description="free memory")
    def memory(self, worker: Worker) -> str:
        if worker.memory_total is None or worker.memory_free is None:
            return "–"
        return f"{_bytes(worker.memory_free)} of {_bytes(worker.memory_total)}"

    @admin.display(description="loaded models")
    def models(self, worker: Worker) -> str:
        loaded = worker.loaded_models if isinstance(worker.loaded_models, list) else []
        return ", ".join(f"{m.get('name')} ({_bytes(m.get('bytes') or 0)})" for m in loaded) or "–"

    @admin.display(description="last seen", ordering="last_seen_at")
    def seen(self, worker: Worker) -> str:
        # Seconds, not a date: what tells a live worker from a gone one.
        return f"{(timezone.now() - worker.last_seen_at).total_seconds():.0f} s ago"

    @admin.display(description="running job")
    def running_job(self, worker: Worker) -> str:
        if worker.job is None:
            return "–"
        url = reverse("admin:genhub_job_change", args=[worker.job.pk])
        return format_html('<a href="{}">{} job</a>', url, worker.job.modality)


def _bytes(count: int) -> str:
    """GiB from 1 GiB up, else MiB: how device memory and model sizes read."""
    if count >= 2**30:
        return f"{count / 2**30:.1f} GiB"
    return f"{count / 2**20:.0f} MiB"


class ApiKeyForm(forms.ModelForm):
    requested_by: Any = None  # the admin user, set per request by ApiKeyAdmin.get_form
    # Ticked from the registry rather than typed as JSON; none ticked means all.
    scopes = forms.MultipleChoiceField(
        choices=modalities.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The kinds of job this key may create. None ticked: every kind.",
    )

    class Meta:
        model = ApiKey
        fields = ["user", "name", "expires_at", "scopes", "revoked_at"]

    def clean_user(self) -> Any:
        # A key acts as its user: a staff member who could make one for someone
        # else could act as anyone, superusers included.
        user = self.cleaned_data["user"]
        if user != self.requested_by and not self.requested_by.is_superuser:
            raise forms.ValidationError(
                "Only a superuser may create a key for another user; pick yourself."
            )
        return user


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "prefix",
        "user",
        "name",
        "created_at",
        "last_used_at",
        "expires_at",
        "scope_list",
        "revoked_at",
    ]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["prefix", "user__username", "name"]
    fields = [
        "user",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "scopes",
        "revoked_at",
    ]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Handing an existing key to another user would be making them a key.
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "user"] if obj else fields

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"requested_by": request.user})

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"user": request.user.pk, **super().get_changeform_initial_data(request)}

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes) if obj.scopes else "all"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        row, _ = ApiKey.issue(obj.user, name=obj.name, expires_at=obj.expires_at, scopes=obj.scopes)
        obj.pk, obj.prefix, obj.created_at = row.pk, row.prefix, row.created_at
        obj.issued_key = row.issued_key

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        # The key is shown on this one page, never again: not in a message, which
        # would travel in the messages cookie. The admin sends it uncached.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "New API key",
            "row": obj,
            "key": obj.issued_key,
        }
        return TemplateResponse(request, "admin/genhub/apikey/created.html", context)


@admin.register(UsagePolicy)
class UsagePolicyAdmin(admin.ModelAdmin):
    """Limits over the GENHUB_QUOTA_* defaults for one user or one group
    (genhub/policies.py combines them; genhub/quotas.py enforces them)."""

    list_display = [
        "__str__",
        "requests_per_minute",
        "max_queued",
        "compute_budgets",
        "priority",
        "note",
        "updated_at",
    ]
    list_select_related = ["user", "group"]
    search_fields = ["user__username", "group__name", "note"]
    autocomplete_fields = ["user", "group"]
    fields = [
        "user",
        "group",
        "requests_per_minute",
        "max_queued",
        "compute_seconds_per_day",
        "priority",
        "note",
    ]

    @admin.display(description="compute seconds per day")
    def compute_budgets(self, obj: UsagePolicy) -> str:
        budgets = obj.compute_seconds_per_day
        return ", ".join(f"{name}: {seconds}" for name, seconds in budgets.items()) or "default"
