"""Noticing that Redis forgot the queue.

Redis without persistence starts empty after a restart, and the message of
every queued job goes with it; the database still says `queued`. The sweep keeps
a marker key in Redis (the broker is REDIS_URL, see settings). A missing marker
means a Redis that lost its data, whether this worker saw it restart or started
after it, so every queued job is sent again at once instead of after
GENHUB_JOB_RESEND_SECONDS.
"""

from django.utils import timezone

from genhub import jobs, redis_clients

MARKER_KEY = "genhub:broker:marker"


def resend_if_forgotten() -> int:
    """Send every queued job again if Redis lost its data since the last sweep
    (of any worker). Returns how many were sent; raises while Redis is away."""
    client = redis_clients.client()
    # SET NX: of several sweepers that find the marker gone, only one resends.
    # No expiry: the marker lives exactly as long as the queue's data.
    if not client.set(MARKER_KEY, timezone.now().isoformat(), nx=True):
        return 0
    try:
        return jobs.resend_queued_jobs()
    except Exception:
        # Not all were sent (the database or Redis went away again): drop the
        # marker so the next sweep tries again.
        client.delete(MARKER_KEY)
        raise
