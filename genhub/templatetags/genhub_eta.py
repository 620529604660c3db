"""A queued or running job's wait in words ("3rd in line · starts in about 40 s",
"About 2 min left"), the same sentences the pages' script says
(genhub/eta_words.py).

`{% load genhub_eta %}{{ job|eta_words }}`: the words alone.
`{% eta job %}`: the words in a span that genhub.js keeps counting down, once a
second, from the seconds it carries (no request); empty for an ended job.
"""

from django import template
from django.utils.html import format_html

from genhub import eta_words as words
from genhub.eta import seconds_left, seconds_to_start
from genhub.models import Job
from genhub.waiting import add_waiting_notes

register = template.Library()


@register.filter
def eta_words(job: Job) -> str:
    if job.is_terminal:
        return ""
    _with_eta(job)
    return words.eta_words(
        job.status, job.queue_position(), seconds_left(job), seconds_to_start(job), job.eta_basis
    )


@register.simple_tag
def eta(job: Job) -> str:
    if job.is_terminal:
        return ""
    said = eta_words(job)
    return format_html(
        '<span class="eta" data-eta data-eta-status="{}" data-eta-place="{}" data-eta-in="{}"'
        ' data-eta-start-in="{}" data-eta-basis="{}">{}</span>',
        job.status,
        _blank(job.queue_position()),
        _blank(seconds_left(job)),
        _blank(seconds_to_start(job)),
        job.eta_basis,
        said,
    )


def _with_eta(job: Job) -> None:
    # A page of jobs reads all their ETAs at once (add_waiting_notes); a job
    # that missed it costs its own few queries rather than showing nothing.
    if not job.eta_basis:
        add_waiting_notes([job])


def _blank(value: int | None) -> str:
    return "" if value is None else str(value)
