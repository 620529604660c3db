"""The Celery app: `celery -A genhub worker -Q text,image,audio,webhooks`.

The web process only sends job ids by task name (genhub/jobs.py); the task and
everything a worker needs load from genhub/worker/tasks.py, which Celery imports
when a worker starts, never in the web process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genhub.settings")

RUN_JOB_TASK = "genhub.run_job"  # the name queued messages carry; never rename it
# POSTs a finished job to its callback_url (genhub/webhooks.py), on its own queue so
# a slow receiver never waits behind generation jobs.
DELIVER_WEBHOOK_TASK = "genhub.deliver_webhook"
WEBHOOK_QUEUE = "webhooks"

app = Celery("genhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["genhub.worker"])
