"""Server-Sent Events as OpenAI streams them: `data: <json>` per chunk, a
comment as a keep-alive, and `data: [DONE]` at the end."""

import json
from collections.abc import AsyncIterator
from typing import Any

from django.http import StreamingHttpResponse

from genhub.api.openai.outcomes import JOB_HEADER

KEEP_ALIVE = ": keep-alive\n\n"
DONE = "data: [DONE]\n\n"


# For the OpenAPI schema: with `stream: true` the 200 is an event stream.
STREAMED_200 = {
    "responses": {
        200: {
            "content": {
                "text/event-stream": {
                    # Before OpenAPI 3.2's `itemSchema`, tools (schemathesis) read an
                    # event stream's `schema` as that of one event: `data: <chunk>`,
                    # and last `data: [DONE]`.
                    "schema": {
                        "type": "object",
                        "properties": {
                            "data": {
                                "type": "string",
                                "description": "A chunk as JSON, or [DONE].",
                            },
                            "event": {"type": "string"},
                        },
                        "required": ["data"],
                    }
                }
            }
        }
    }
}


def event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def sse_response(body: AsyncIterator[str], job_ids: list[str]) -> StreamingHttpResponse:
    """A streamed answer. Under ASGI, Django cancels the iterator when the client
    disconnects, so `body` learns of it as a CancelledError (see text.py)."""
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would hold the tokens back
    response[JOB_HEADER] = ", ".join(job_ids)
    return response
