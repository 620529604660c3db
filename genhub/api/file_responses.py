"""Serving a stored file with HTTP range requests, so that a browser's <audio>
and <video> elements can seek and a download can resume."""

import re
from collections.abc import Iterator

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse

_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$", re.ASCII)


def serve_file(
    request: HttpRequest, stored: FieldFile, content_type: str
) -> HttpResponse | FileResponse | StreamingHttpResponse:
    try:
        size = stored.size
    except FileNotFoundError:
        raise Http404("The file is gone from storage.") from None
    headers = {
        "Accept-Ranges": "bytes",
        # A file never changes once written; only its owner may see it.
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    wanted = _parse_range(request.headers.get("Range", ""), size)
    if wanted is UNSATISFIABLE:
        return HttpResponse(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if wanted is None:
        return FileResponse(stored.open("rb"), content_type=content_type, headers=headers)
    start, end = wanted
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingHttpResponse(
        _chunks(stored, start, end), status=206, content_type=content_type, headers=headers
    )


def _chunks(stored: FieldFile, start: int, end: int) -> Iterator[bytes]:
    # `bytes=0-` is what every <audio> element asks first: stream it, do not read
    # the whole file into memory.
    with stored.open("rb") as handle:
        handle.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


UNSATISFIABLE = (-1, -1)
CHUNK = 64 * 1024


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single range, UNSATISFIABLE, or None for the
    whole file (no header, or one this server does not handle, such as several
    ranges: answering those with the whole file is allowed)."""
    match = _RANGE.match(header.strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # "bytes=-500": the last 500 bytes
        length = int(last)
        if length == 0:
            return UNSATISFIABLE
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return UNSATISFIABLE
    return start, end
