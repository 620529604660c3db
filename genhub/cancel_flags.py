"""Cancel requests for running jobs, raised in Redis as they happen.

`raise_flag` sets a key and publishes on the job's cancel channel; the worker
running the job listens there (genhub/worker/cancel_watch.py). The key covers a
request made before the worker listened; the database's `cancel_requested`,
which the worker's heartbeat reads, covers a Redis that lost both.
"""

from genhub import redis_clients

FLAG_TTL_SECONDS = 24 * 3600
CANCEL, STOP_WATCHING = "cancel", "stop"


def channel(job_id: object) -> str:
    """The Redis key of the flag, also the pub/sub channel its raising is told on."""
    return f"genhub:job:{job_id}:cancel"


def raise_flag(job_id: object) -> None:
    client = redis_clients.client()
    client.set(channel(job_id), "1", ex=FLAG_TTL_SECONDS)
    client.publish(channel(job_id), CANCEL)


def is_raised(job_id: object) -> bool:
    return bool(redis_clients.client().exists(channel(job_id)))
