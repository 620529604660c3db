"""OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}`, and
the exception that carries one to the API's handler."""

from collections.abc import Iterable, Sequence
from typing import Any

from genhub.error_messages import readable_errors

# The request field a GenHub params field came from, where the names differ.
OPENAI_FIELD = {
    "max_new_tokens": "max_tokens",
    "num_images": "n",
    "width": "size",
    "height": "size",
}


class OpenAIError(Exception):
    """An answer in OpenAI's error shape. `retry` False adds `x-should-retry:
    false`, which the official clients obey: a job that failed or was cancelled
    would only fail again, or run what its owner stopped."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
        retry: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retry_after = retry_after
        self.retry = retry
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(
    message: str, type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


# What pydantic adds to a `loc` for the member of a union it tried ("str",
# "list[str]", "TextPart"): a type, not a field a client sent.
_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "none", "dict", "list", "json-or-python"})


def _is_type_tag(part: Any) -> bool:
    return isinstance(part, str) and (
        part in _TYPE_NAMES or "[" in part or part[:1].isupper() or part.startswith("function-")
    )


def param_name(loc: Sequence[Any]) -> str | None:
    """("body", "body", "messages", 0, "role") -> "messages[0].role"; the
    request body as a whole is None. GenHub's own field names become OpenAI's."""
    parts = [part for part in loc if not _is_type_tag(part)]
    while parts and parts[0] == "body":
        parts.pop(0)
    if not parts:
        return None
    first = str(parts[0])
    name = OPENAI_FIELD.get(first, first)
    for part in parts[1:]:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


def invalid_request(errors: Iterable[dict[str, Any]]) -> OpenAIError:
    """pydantic's or ninja's error dicts as one 400 naming the first field."""
    readable = readable_errors(errors)
    if not readable:
        return OpenAIError(400, "The request is not valid.")
    first = readable[0]
    param = param_name(first["loc"])
    message = first["msg"]
    if param and param not in message:
        message = f"{param}: {message}"
    if len(readable) > 1:
        message += f" ({len(readable) - 1} more problem(s) in the request.)"
    return OpenAIError(400, message, param=param)
