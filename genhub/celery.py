"""The Celery app: `celery -A genhub worker -Q text,image,audio`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genhub.settings")

app = Celery("genhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["genhub"])

import genhub.worker_warmup  # noqa: E402, F401  (connects the pool process warm-up)
from genhub.sweeper import StaleJobSweeper  # noqa: E402  (needs the app configured)

app.steps["worker"].add(StaleJobSweeper)
