"""Errors that carry a message meant for a person, not a traceback."""

import re

# What a library's message may hold that a job's owner must not see, or cannot use.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/[^\s'\",:)]+")
_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


def without_internals(message: str) -> str:
    """`message` with server paths and Python object reprs cut out: what is left
    of a library's error is shown to the job's owner; the whole goes to the log."""
    return _OBJECT_REPR.sub("the file", _ABSOLUTE_PATH.sub("…", message))


class InvalidInput(Exception):
    """A request field is wrong; answered as 422 naming the field.

    `at` is where in the field, for a list or an object: (0, "content") in
    `messages` is the first message's content; the API's `loc` carries it."""

    def __init__(self, field: str, message: str, *, at: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.loc = (field, *at)


class JobError(Exception):
    """A job cannot finish; the message becomes the job's `error` as it is."""


class JobCancelled(Exception):
    """The runner stopped because the job's owner cancelled it."""

    def __init__(self, partial_result: dict | None = None) -> None:
        super().__init__("cancelled")
        self.partial_result = partial_result


class BodyTooLarge(Exception):
    """The request body is over the size GenHub accepts; answered as 413."""

    def __init__(self) -> None:
        from django.conf import settings

        limit = settings.GENHUB_MAX_REQUEST_BYTES
        super().__init__(
            f"The request body is over the limit of {limit // 2**20} MiB; send a smaller file."
        )


class QuotaExceeded(Exception):
    """A user is over one of their limits (genhub/quotas.py); answered as 429
    with Retry-After. `limit` names it: "requests_per_minute", "max_queued" or
    "compute_seconds_per_day"."""

    def __init__(self, limit: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.message = message
        self.retry_after = max(1, retry_after)
