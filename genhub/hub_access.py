"""Fail fast when a hub model must be downloaded and the hub is out of reach.

Without this check `from_pretrained` retries its downloads for a long while and
then blames a missing file (model_index.json), not the network."""

import threading
from urllib.parse import urlsplit

from django.conf import settings

from genhub.errors import JobError
from genhub.hub_cache import hub_snapshot
from genhub.models import AIModel

# Seconds to wait for the hub to answer, name resolution included.
REACH_TIMEOUT = 5.0


def require_hub_or_snapshot(aimodel: AIModel) -> None:
    """Raise a JobError that says so when `aimodel` (a hub model) is not in the
    model store and the hub cannot be reached to download it."""
    if hub_snapshot(settings.GENHUB_MODEL_DIR / "hub", aimodel.source, aimodel.revision):
        return
    reason = hub_unreachable_reason(aimodel.source, aimodel.revision)
    if reason:
        raise JobError(
            f"Model '{aimodel.name}' is not downloaded yet and the Hugging Face hub cannot "
            f"be reached from this worker ({reason}); download it on a connected machine "
            "into GENHUB_MODEL_DIR, or set the model's source to a local folder."
        )


def hub_unreachable_reason(repo_id: str, revision: str = "") -> str:
    """Why the hub cannot be reached, in a few words, or '' when it answered (an
    answer that refuses, such as an unknown repo, still means it is reachable)."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    host = urlsplit(constants.ENDPOINT).netloc  # a host, never a path, reaches the job
    if constants.HF_HUB_OFFLINE:
        return "this worker is offline: HF_HUB_OFFLINE is set"
    outcome: list[str] = []

    def ask() -> None:
        try:
            HfApi().model_info(repo_id, revision=revision or None, timeout=REACH_TIMEOUT)
            outcome.append("")
        except HfHubHTTPError:
            outcome.append("")
        except OfflineModeIsEnabled:
            outcome.append("this worker is offline: HF_HUB_OFFLINE is set")
        except Exception as error:  # connection refused, no route, name not resolved
            outcome.append(f"{type(error).__name__} from {host}")

    # In a daemon thread, so that a resolver that hangs (DNS timeouts are not
    # covered by the HTTP timeout) cannot hold the job: we stop waiting instead.
    asking = threading.Thread(target=ask, name="hub-reach", daemon=True)
    asking.start()
    asking.join(REACH_TIMEOUT + 1)
    if not outcome:
        return f"no answer from {host} within {REACH_TIMEOUT:.0f} s"
    return outcome[0]
