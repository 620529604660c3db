"""Each worker pool process imports the runners of its modalities as it starts,
so the first job does not wait seconds for torch and transformers to import.

Importing does not initialise CUDA; that still happens in the process that runs
the task, after the fork.
"""

import logging
from typing import Any

from celery.signals import worker_process_init
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@worker_process_init.connect
def import_runners(**kwargs: Any) -> None:
    from genhub import modalities

    for modality in modalities.all_modalities():
        try:
            import_string(modality.runner)
        except Exception:
            # The job will fail with the real error; the worker must still start.
            log.exception("could not import the %s runner", modality.name)
