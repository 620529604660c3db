"""pydantic's error dicts as sentences a person can act on, for the API's 422
answers and the pages' field errors alike."""

from collections.abc import Iterable
from typing import Any

# What pydantic puts before the message of a ValueError or an assert in a validator.
PREFIXES = ("Value error, ", "Assertion failed, ")


def readable_errors(errors: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{type, loc, msg}] with `msg` as a sentence: no "Value error, " prefix,
    and a missing field named ("The prompt field is required.")."""
    return [
        {
            "type": error.get("type", "invalid"),
            "loc": list(error.get("loc", ())),
            "msg": _msg(error),
        }
        for error in errors
    ]


def _msg(error: dict[str, Any]) -> str:
    if error.get("type") == "missing":
        return f"The {_path(error.get('loc', ()))} field is required."
    msg = str(error.get("msg", "This value is not valid."))
    for prefix in PREFIXES:
        msg = msg.removeprefix(prefix)
    return msg if msg.endswith((".", "?", "!")) else msg + "."


def _path(loc: Iterable[Any]) -> str:
    """("body", "messages", 0, "content") -> "messages[0].content"."""
    path = ""
    for part in loc:
        if part == "body":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "request"
