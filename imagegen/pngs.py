"""Writing results: a PNG that carries its own generation record, and a thumbnail.

The record goes in two iTXt chunks (UTF-8, so any prompt fits): `genhub`, the
record as JSON, and `parameters`, the same in the plain-text form that
AUTOMATIC1111 writes and that image sites and other tools read. Nothing in the
record varies between runs of the same request (no job id, no clock), so the
same params and seed give a byte-identical file.
"""

import io
import json
from typing import Any

THUMBNAIL_SIZE = (256, 256)
PNG_COMPRESS_LEVEL = 1


def encode_png(image: Any, record: dict[str, Any]) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("parameters", a1111_parameters(record))
    info.add_itxt("genhub", json.dumps(record, sort_keys=True, ensure_ascii=False))
    buffer = io.BytesIO()
    # Level 1: 1.4x to 4.5x faster than Pillow's default 6 on 512x512 images, for
    # files about a tenth larger; it runs on every image a worker makes
    # (docs/jobs.md, "Batches").
    image.save(buffer, "PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def thumbnail_jpeg(image: Any) -> bytes:
    small = image.convert("RGB")
    small.thumbnail(THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def a1111_parameters(record: dict[str, Any]) -> str:
    lines = [record["prompt"]]
    if record.get("negative_prompt"):
        lines.append(f"Negative prompt: {record['negative_prompt']}")
    settings = [
        ("Steps", record["steps"]),
        ("Sampler", record["scheduler"]),
        ("CFG scale", record["guidance_scale"]),
        ("Seed", record["seed"]),
        ("Size", f"{record['width']}x{record['height']}"),
        ("Model", record["model"]),
    ]
    if "strength" in record:
        settings.append(("Denoising strength", record["strength"]))
    lines.append(", ".join(f"{key}: {value}" for key, value in settings))
    return "\n".join(lines)
