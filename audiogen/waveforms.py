"""A clip's waveform as a PNG: the loudest and quietest sample of each column,
drawn as a bar, on a transparent background that suits light and dark pages."""

import io
from typing import Any

WIDTH, HEIGHT = 800, 120
COLOUR = (79, 124, 255, 255)


def waveform_png(clip: Any, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """`clip`: samples × channels floats in -1..1 (channels are mixed down)."""
    import numpy as np
    from PIL import Image, ImageDraw

    mono = np.asarray(clip, dtype=np.float32).mean(axis=1)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    middle = (height - 1) / 2
    if len(mono):
        columns = np.array_split(mono, min(width, len(mono)))
        for x, column in enumerate(columns):
            low, high = float(column.min()), float(column.max())
            top = middle - max(-1.0, min(1.0, high)) * middle
            bottom = middle - max(-1.0, min(1.0, low)) * middle
            draw.line([(x, top), (x, max(top, bottom))], fill=COLOUR)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
