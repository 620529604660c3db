"""Reading back the record a GenHub PNG carries in its `genhub` text chunk."""

import io
import json
from typing import Any


def read_png_record(png: bytes) -> dict[str, Any]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return json.loads(image.text["genhub"])  # type: ignore[attr-defined]
