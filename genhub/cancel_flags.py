"""Cancel requests for running jobs, as Redis flags a runner can check per token.

The database keeps `Job.cancel_requested` as the record; this flag is the fast
path (one EXISTS per token instead of a query), and the worker's heartbeat also
reads the database flag in case Redis lost the key.
"""

from genhub import redis as genhub_redis

FLAG_TTL_SECONDS = 24 * 3600


def _key(job_id: object) -> str:
    return f"genhub:job:{job_id}:cancel"


def raise_flag(job_id: object) -> None:
    genhub_redis.client().set(_key(job_id), "1", ex=FLAG_TTL_SECONDS)


def is_raised(job_id: object) -> bool:
    return bool(genhub_redis.client().exists(_key(job_id)))
