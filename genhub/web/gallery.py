"""The history as a gallery: which of the caller's jobs a search and its filters
pick, and what each card shows (a thumbnail, a waveform, the answer's first
lines), read for a whole page at once, never a query per card. A clip's
waveform is drawn by the `waveform` template tag (genhub/templatetags/waveforms.py)."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KT
from django.urls import reverse
from django.utils.http import urlencode

from genhub import modalities
from genhub.download_names import artifact_download_name, download_name
from genhub.models import AIModel, Artifact, Job, JobStatus
from genhub.web.job_details import used_seed
from genhub.web.reuse import reuse_url

PAGE_SIZE = 24  # fills rows of 2, 3 and 4 cards
SNIPPET_CHARS = 280


class HistoryFilters(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    modality = forms.ChoiceField(required=False, label="Kind")
    status = forms.ChoiceField(required=False)
    model = forms.ChoiceField(required=False)
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")

    def __init__(self, data: Any, *, model_names: list[str]) -> None:
        super().__init__(data)
        everything = [("", "All")]
        named = [(m.name, m.label) for m in modalities.all_modalities()]
        choices = {
            "modality": everything + named,
            "status": everything + [(s.value, s.value) for s in JobStatus],
            "model": everything + [(name, name) for name in model_names],
        }
        for name, options in choices.items():
            chosen_field = self.fields[name]
            assert isinstance(chosen_field, forms.ChoiceField)
            chosen_field.choices = options

    def clean_q(self) -> str:
        # PostgreSQL refuses a NUL in any text; a search for one finds nothing.
        return str(self.cleaned_data.get("q") or "").replace("\x00", "").strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "This date is before the “From” date.")
        return cleaned

    def chosen(self) -> dict[str, Any]:
        """The filters that are valid and set; an invalid one is left out (and
        shown beside its field)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: value for name, value in cleaned.items() if value not in ("", None)}


def model_names(owner: Any) -> list[str]:
    """The models the caller's jobs used: the choices of the model filter."""
    used = AIModel.objects.filter(jobs__owner=owner).values_list("name", flat=True)
    return sorted(set(used))


def matching_jobs(owner: Any, chosen: dict[str, Any]) -> QuerySet[Job]:
    jobs = Job.objects.filter(owner=owner).select_related("model")
    if chosen.get("q"):
        q = chosen["q"]
        # The prompt, or a text job's answer ("->>" on PostgreSQL, json_extract on SQLite).
        jobs = jobs.annotate(answer=KT("result__text"))
        jobs = jobs.filter(Q(prompt__icontains=q) | Q(answer__icontains=q))
    if chosen.get("modality"):
        jobs = jobs.filter(modality=chosen["modality"])
    if chosen.get("status"):
        jobs = jobs.filter(status=chosen["status"])
    if chosen.get("model"):
        jobs = jobs.filter(model__name=chosen["model"])
    if isinstance(chosen.get("date_from"), datetime.date):
        jobs = jobs.filter(created_at__date__gte=chosen["date_from"])
    if isinstance(chosen.get("date_to"), datetime.date):
        jobs = jobs.filter(created_at__date__lte=chosen["date_to"])
    return jobs.prefetch_related("artifacts")


def filters_query(chosen: dict[str, Any]) -> str:
    """The filters as a query string, for the page links (so they survive paging)."""
    return urlencode(
        {
            name: value.isoformat() if isinstance(value, datetime.date) else value
            for name, value in chosen.items()
        }
    )


@dataclass
class Download:
    url: str
    name: str
    label: str


@dataclass
class Card:
    job: Job
    outputs: list[Artifact]
    reuse_url: str | None
    snippet: str = ""
    downloads: list[Download] = field(default_factory=list)

    @property
    def cover(self) -> Artifact | None:
        return self.outputs[0] if self.outputs else None

    @property
    def more(self) -> int:
        return max(0, len(self.outputs) - 1)


def card_for(job: Job) -> Card:
    """What a job's card shows, from the job and its prefetched artifacts."""
    outputs = sorted(
        (a for a in job.artifacts.all() if a.role == Artifact.Role.OUTPUT), key=lambda a: a.index
    )
    card = Card(job=job, outputs=outputs, reuse_url=reuse_url(job))
    result = job.result if isinstance(job.result, dict) else {}
    if isinstance(result.get("text"), str):
        card.snippet = _snippet(result["text"])
    for artifact in outputs:
        name = artifact_download_name(artifact, job.prompt, len(outputs))
        label = name.rsplit(".", 1)[-1].upper()
        if len(outputs) > 1:
            label = f"{label} {artifact.index + 1}"
        artifact.download_name = name
        card.downloads.append(Download(f"{_file_url(artifact)}?download=1", name, label))
    if card.snippet:
        name = download_name(job.prompt, "txt", seed=used_seed(job), suffix="answer")
        card.downloads.append(Download(reverse("job_answer", args=[job.pk]), name, "TXT"))
    return card


def _file_url(artifact: Artifact) -> str:
    return reverse("api:artifact_file", args=[artifact.pk])


def _snippet(text: str) -> str:
    """The answer's first lines, cut at a word near SNIPPET_CHARS."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    kept = "\n".join(line for line in lines[:6])
    if len(kept) > SNIPPET_CHARS:
        kept = kept[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
    elif len(lines) > 6:
        kept += "\n…"
    return kept
