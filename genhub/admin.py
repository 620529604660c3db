"""Model management, jobs and API keys in the Django admin."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from genhub.artifacts import links
from genhub.jobs import JobConflict, cancel_job
from genhub.models import AIModel, ApiKey, Artifact, Job


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "modality",
        "source_type",
        "source",
        "dtype",
        "device",
        "enabled",
        "is_default",
    ]
    list_filter = ["modality", "enabled", "is_default", "source_type"]
    list_editable = ["enabled"]
    search_fields = ["name", "source", "description"]
    readonly_fields = ["created_at", "updated_at"]


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
        "model",
        "status",
        "progress",
        "attempts",
        "created_at",
        "duration",
    ]
    list_filter = ["status", "modality", "model"]
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


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "user__username", "name"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    autocomplete_fields = ["user"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        row, key = ApiKey.issue(obj.user, name=obj.name)
        obj.pk, obj.prefix = row.pk, row.prefix
        self.message_user(
            request, f"New key for {row.user} (shown once, copy it now): {key}", messages.WARNING
        )
