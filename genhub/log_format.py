"""The two shapes of a log line, chosen by GENHUB_LOG_FORMAT (settings.LOGGING):
`text` for a person at a terminal, `json` (one object per line) for a log
collector (Loki, Elasticsearch, CloudWatch) to index by field.

Both show the job a line belongs to (genhub/log_context.py). A formatter of our
own rather than a library: the whole of it is the thirty lines below.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any

# What every LogRecord has; anything else on a record came from `extra=` and is
# copied into the JSON object.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "job_id", "job", "color_message"}
)


class TextFormatter(logging.Formatter):
    """`2026-01-01 12:00:00,000 INFO genhub.jobs [job 3f2a...]: message`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(job)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        job_id = getattr(record, "job_id", None)
        record.job = f" [job {job_id}]" if job_id else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message,
    job_id when the line belongs to a job, process and thread, the exception's
    traceback, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        job_id = getattr(record, "job_id", None)
        if job_id:
            entry["job_id"] = str(job_id)
        entry["process"] = record.process
        entry["thread"] = record.threadName
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value
        # default=str: an extra that is not JSON (a UUID, a datetime) is written as text.
        return json.dumps(entry, default=str, ensure_ascii=False)
