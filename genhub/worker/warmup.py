"""What each job-running worker process does as it starts: import the runners of
its modalities, so the first job does not wait seconds for torch and
transformers to import; build Django's URL resolver, which a result's file links
need; start unloading idle models; listen for Preload and Unload. A prefork
pool's children start with worker_process_init; a solo or threads pool runs jobs
in the worker's own process, which is ready with worker_ready.

Importing does not initialise CUDA; that still happens in the process that runs
the task, after the fork.
"""

import logging
from typing import Any

from celery.signals import worker_process_init, worker_ready
from django.utils.module_loading import import_string

from genhub.worker import commands, identity, idle_unload

log = logging.getLogger(__name__)


@worker_process_init.connect
def _pool_process_started(**kwargs: Any) -> None:
    job_process_started()


@worker_ready.connect
def _worker_ready(**kwargs: Any) -> None:
    me = identity.current()
    if me is not None and me.pool != "prefork":  # jobs run in this very process
        job_process_started()


def job_process_started() -> None:
    import_runners()
    build_url_resolver()
    idle_unload.start()
    commands.start()


def import_runners() -> None:
    from genhub import modalities

    for modality in modalities.all_modalities():
        try:
            import_string(modality.runner)
        except Exception:
            # The job will fail with the real error; the worker must still start.
            log.exception("could not import the %s runner", modality.name)


def build_url_resolver() -> None:
    """A job's result links its files by URL (genhub.artifacts.links). The first
    reverse() in a process imports every URLconf and compiles its patterns: 0.3-0.5 s
    of a worker's first image or clip on a 2-core host, unless done here."""
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 (reading it builds the lookup tables)
