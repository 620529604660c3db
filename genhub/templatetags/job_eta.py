"""`{{ job|eta_sentence }}`: a queued or running job's ETA as a sentence for a
page ("About 2 min left."), from the ETA genhub.waiting.add_waiting_notes set."""

from django import template

from genhub import eta
from genhub.models import Job

register = template.Library()


@register.filter
def eta_sentence(job: Job) -> str:
    return eta.sentence(job)
