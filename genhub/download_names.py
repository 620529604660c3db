"""What a downloaded file is called: the first words of its prompt and its seed
(`lighthouse-at-dusk-7.png`), not a storage name like `image-0.png`, so a folder
of downloads reads like the gallery it came from.

Names are ASCII on purpose: every browser, shell and file system takes them, and
the Content-Disposition header still carries them the RFC 6266 way (`filename`
and `filename*`) for clients that read only one of the two.
"""

import re
import unicodedata
from typing import Any
from urllib.parse import quote

FALLBACK = "genhub"
MAX_SLUG = 40
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def slug(prompt: str, limit: int = MAX_SLUG) -> str:
    """The prompt's first words, lower-case ASCII joined by hyphens, cut at a word
    boundary within `limit` characters; FALLBACK when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    words = [word for word in _NOT_WORD.split(ascii_text.lower()) if word]
    kept = ""
    for word in words:
        joined = f"{kept}-{word}" if kept else word
        if len(joined) > limit:
            if not kept:  # one very long word: cut it
                kept = word[:limit]
            break
        kept = joined
    return kept or FALLBACK


def download_name(
    prompt: str,
    extension: str,
    *,
    seed: int | None = None,
    index: int | None = None,
    suffix: str = "",
) -> str:
    """`slug[-seed][-index][-suffix].extension`. `index` is 1-based and given only
    when a job made several files; `suffix` says what the file is ("answer")."""
    parts = [slug(prompt)]
    if seed is not None:
        parts.append(str(seed))
    if index is not None:
        parts.append(str(index))
    if suffix:
        parts.append(suffix)
    return f"{'-'.join(parts)}.{extension.lstrip('.') or 'bin'}"


def artifact_download_name(artifact: Any, prompt: str, siblings: int) -> str:
    """A job's file as it downloads: an output by the job's prompt, its seed and,
    among several outputs, its place; an input by the request field it came in."""
    stored = (artifact.file.name or "").rsplit("/", 1)[-1]
    extension = stored.rsplit(".", 1)[-1] if "." in stored else "bin"
    if artifact.role == "input":
        return download_name(prompt, extension, suffix=slug(artifact.field or "input"))
    index = artifact.index + 1 if siblings > 1 else None
    return download_name(prompt, extension, seed=artifact.seed, index=index)


def content_disposition(filename: str, *, attachment: bool = False) -> str:
    """The header value for `filename`, with both forms RFC 6266 describes: the
    quoted ASCII `filename` and the percent-encoded UTF-8 `filename*`."""
    kind = "attachment" if attachment else "inline"
    plain = filename.encode("ascii", "replace").decode().replace("\\", "_").replace('"', "_")
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
