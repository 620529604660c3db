"""Loaded by pytest (`-p tests.environment`) before Django reads its settings.

It gives the test session its own Redis on a free port and its own model folder,
and short heartbeat and sweep intervals so that worker-loss tests run in seconds.
Subprocesses (the ASGI server, Celery workers) inherit all of it.
"""

import atexit
import os
import shutil
import tempfile

from tests.services import start_redis

REDIS_PROCESS, REDIS_URL = start_redis()
MODEL_DIR = tempfile.mkdtemp(prefix="genhub-test-models-")
MEDIA_DIR = tempfile.mkdtemp(prefix="genhub-test-media-")
atexit.register(shutil.rmtree, MODEL_DIR, True)
atexit.register(shutil.rmtree, MEDIA_DIR, True)

os.environ.update(
    {
        "REDIS_URL": REDIS_URL,
        "GENHUB_MODEL_DIR": MODEL_DIR,
        "MEDIA_ROOT": MEDIA_DIR,
        "GENHUB_DEVICE": "cpu",
        "GENHUB_JOB_HEARTBEAT_SECONDS": "0.5",
        "GENHUB_JOB_STALE_SECONDS": "3",
        "GENHUB_SWEEP_SECONDS": "1",
        "GENHUB_WORKER_HEARTBEAT_SECONDS": "0.5",
        "GENHUB_WORKER_GONE_SECONDS": "5",
        # Most tests submit jobs with no worker running; tests/test_workers.py
        # turns this off to see jobs refused.
        "GENHUB_ACCEPT_WITHOUT_WORKERS": "true",
        "GENHUB_MAX_PROMPT_CHARS": "2000",
        # The suite submits many jobs quickly; tests/test_quotas.py sets its limits.
        "GENHUB_QUOTA_REQUESTS_PER_MINUTE": "0",
        "GENHUB_QUOTA_MAX_QUEUED": "0",
        # Tests change queues and workers and read them back at once; the sharing
        # itself is tested in tests/test_shared_reads.py.
        "GENHUB_QUEUE_READ_SECONDS": "0",
        "DEBUG": "false",
        # Hashing a password properly takes a third of a second, by design.
        "GENHUB_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
    }
)
