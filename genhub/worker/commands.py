"""The worker's side of Preload and Unload (genhub/model_commands.py): a daemon
thread in each job-running process listens on the command channel of every
queue its worker serves and acts on this process's own model cache.

Preload goes through the runner's `preload(aimodel)`, the same cache path a job
takes, so a job that follows finds the model loaded. Unload waits for a job that
is using the model to end (model_cache.unload).
"""

import json
import logging
import threading
import time

from django.db import connection
from django.utils.module_loading import import_string

from genhub import modalities, redis_clients
from genhub.model_commands import PRELOAD, UNLOAD, channel
from genhub.models import AIModel
from genhub.worker import identity, model_cache

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 2.0


def start() -> threading.Thread | None:
    """Listen for model commands from now on, in a daemon thread of this process."""
    me = identity.current()
    if me is None or not me.queues:
        return None
    channels = [channel(queue) for queue in me.queues]
    thread = threading.Thread(
        target=_listen_forever, args=(channels,), daemon=True, name="model-commands"
    )
    thread.start()
    return thread


def _listen_forever(channels: list[str]) -> None:
    while True:
        pubsub = redis_clients.client().pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(*channels)
            for message in pubsub.listen():
                if message["type"] == "message":
                    handle(message["data"])
        except Exception as error:
            # Redis restarted or went away: commands sent meanwhile are lost (an
            # admin can send them again); listen again once it answers.
            log.warning("model commands: %s; listening again in %.0f s", error, RECONNECT_SECONDS)
            time.sleep(RECONNECT_SECONDS)
        finally:
            pubsub.close()


def handle(data: str) -> None:
    """Act on one command: {"action": "preload" | "unload", "model": name}."""
    try:
        command = json.loads(data)
        action, name = command["action"], str(command["model"])
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a model command that is not one: %.200r", data)
        return
    try:
        if action == PRELOAD:
            _preload(name)
        elif action == UNLOAD:
            unloaded = model_cache.unload(name)
            log.info("unload %s: %d unloaded now", name, unloaded)
        else:
            log.warning("ignored the unknown model command %r for %s", action, name)
    except Exception:
        log.exception("could not %s model %s", action, name)
    finally:
        connection.close()  # this thread's own; commands are rare, so never keep one open


def _preload(name: str) -> None:
    try:
        aimodel = AIModel.objects.get(name=name)
    except AIModel.DoesNotExist:
        log.warning("not preloaded: there is no model %s", name)
        return
    # Each runner module has `preload(aimodel)` beside its `run`.
    runner_module = modalities.get(aimodel.modality).runner.rsplit(".", 1)[0]
    preload = import_string(f"{runner_module}.preload")
    if preload(aimodel):
        log.info("preloaded %s", name)
    else:
        log.info("preload %s: already loaded", name)
