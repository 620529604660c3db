"""Preload and Unload, told to every worker process that serves a model's queue.

The admin publishes a command on the queue's Redis channel; each worker process
that runs jobs for that queue listens there (genhub/worker/commands.py) and loads
or unloads the model in its own cache. Pub/sub reaches the processes listening
now: a worker started later loads the model with its first job, as always.
"""

import json
from typing import cast

from genhub import redis_clients
from genhub.models import AIModel

PRELOAD, UNLOAD = "preload", "unload"


def channel(queue: str) -> str:
    """The Redis channel the workers of `queue` listen on for model commands."""
    return f"genhub:queue:{queue}:commands"


def preload_on_workers(aimodel: AIModel) -> int:
    """Ask the workers of the model's queue to load it now. Returns how many
    worker processes heard the request."""
    return _publish(aimodel, PRELOAD)


def unload_from_workers(aimodel: AIModel) -> int:
    """Ask the workers of the model's queue to unload it (after the job using
    it, if one is). Returns how many worker processes heard the request."""
    return _publish(aimodel, UNLOAD)


def _publish(aimodel: AIModel, action: str) -> int:
    message = json.dumps({"action": action, "model": aimodel.name})
    # PUBLISH answers with the number of subscribers that received it (redis-py
    # types every reply of its sync client as "maybe awaitable").
    return cast(int, redis_clients.client().publish(channel(aimodel.job_queue), message))
