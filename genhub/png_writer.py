"""PNG files written with numpy and ISA-L instead of Pillow, for the images and
waveforms workers make.

Encoding sits between a job's model call and its result, and it is the one cost
the service adds that grows with the image. Pillow tries five filters on every
row to pick one and deflates with zlib 1.2: 25-33 ms for a 512x512 image at zlib
level 1 on a 2-core host, 95-150 ms at 1024x1024. Here every row takes the Up
filter (each byte minus the one above it: one vectorized subtraction) and
ISA-L's level 1 deflates it, several times faster, in files no larger than
Pillow's at level 1 (docs/benchmarks.md, "PNG encoding"; on a photograph, Up
made 2 % smaller files than Pillow's choice per row, where Sub made 8-14 %
larger ones). The layout is the PNG specification's: the signature, IHDR, any
iTXt chunks, one IDAT, IEND.
"""

import struct
from typing import Any

# ISA-L's levels run 0-3; 1 is its fast one, and its files are as small as
# zlib's level 1 after Pillow's adaptive filters.
DEFLATE_LEVEL = 1

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pillow mode -> (PNG colour type, bytes per pixel), 8 bits a sample.
_COLOUR_TYPES = {"L": (0, 1), "LA": (4, 2), "RGB": (2, 3), "RGBA": (6, 4)}
_UP = 2  # the filter type byte that starts each row


def write_png(image: Any, texts: dict[str, str] | None = None) -> bytes:
    """`image` (a PIL image) as a PNG, with each of `texts` in an iTXt chunk
    (UTF-8) under its key. A mode PNG has no 8-bit type for becomes RGB(A)."""
    import numpy as np
    from isal import isal_zlib

    if image.mode not in _COLOUR_TYPES:
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    colour_type, depth = _COLOUR_TYPES[image.mode]
    width, height = image.size
    rows = np.asarray(image, dtype=np.uint8).reshape(height, width * depth)
    filtered = np.empty((height, 1 + width * depth), dtype=np.uint8)
    filtered[:, 0] = _UP
    filtered[0, 1:] = rows[0]  # the row above the first is zeros
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # wraps mod 256, as PNG's filters do
    # One IDAT: a chunk holds up to 2 GiB, far past GENHUB_IMAGE_MAX_PIXELS.
    pixels = isal_zlib.compress(filtered, DEFLATE_LEVEL)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    parts = [_SIGNATURE, *_chunk(b"IHDR", header)]
    for key, text in (texts or {}).items():
        parts += _itxt(key, text)
    parts += [*_chunk(b"IDAT", pixels), *_chunk(b"IEND", b"")]
    return b"".join(parts)  # the one copy of the pixels' bytes


def _itxt(keyword: str, text: str) -> list[bytes]:
    # The keyword and its NUL; not compressed (flag and method 0); no language tag
    # and no translated keyword (each empty, with its NUL); the text in UTF-8.
    return _chunk(b"iTXt", keyword.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8"))


def _chunk(kind: bytes, data: bytes) -> list[bytes]:
    """A chunk as its parts: length, type, data, CRC of type and data."""
    from isal import isal_zlib

    crc = isal_zlib.crc32(data, isal_zlib.crc32(kind))
    return [struct.pack(">I", len(data)), kind, data, struct.pack(">I", crc)]
