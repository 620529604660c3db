"""imagegen/pngs.py writes PNGs itself: every decoder must read back the exact
pixels and the record, whatever the mode and size."""

import io
import json
import zlib

import numpy as np
import pytest
from PIL import Image

from imagegen import pngs

pytestmark = pytest.mark.unit

RECORD = {
    "prompt": "ein Leuchtturm, 灯台 🌊",
    "negative_prompt": "blurry",
    "steps": 10,
    "scheduler": "euler",
    "guidance_scale": 7.5,
    "seed": 42,
    "width": 67,
    "height": 33,
    "model": "tiny",
}


def random_pixels(mode: str, size: tuple[int, int]) -> np.ndarray:
    depth = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    shape = (size[1], size[0], depth) if depth > 1 else (size[1], size[0])
    return np.random.default_rng(7).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
@pytest.mark.parametrize("size", [(67, 33), (1, 1), (1, 9), (300, 1)])
def test_pixels_and_record_read_back_exactly(mode, size):
    pixels = random_pixels(mode, size)
    data = pngs.encode_png(Image.fromarray(pixels, mode), RECORD)

    image = Image.open(io.BytesIO(data))
    image.verify()  # every chunk's CRC
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.mode, image.size) == ("PNG", mode, size)
    assert np.array_equal(np.asarray(image), pixels)
    assert json.loads(image.text["genhub"]) == RECORD
    assert image.text["parameters"] == pngs.a1111_parameters(RECORD)
    assert "Negative prompt: blurry" in image.text["parameters"]


def test_the_stream_is_plain_zlib_that_any_inflater_reads():
    """The chunk layout by hand: signature, IHDR, two iTXt, one IDAT, IEND, and
    an IDAT that the standard library's zlib inflates to one Up-filtered row each."""
    pixels = random_pixels("RGB", (5, 4))
    data = pngs.encode_png(Image.fromarray(pixels, "RGB"), RECORD)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        crc = int.from_bytes(data[offset + 8 + length : offset + 12 + length], "big")
        assert zlib.crc32(kind + body) == crc
        chunks.append((kind, body))
        offset += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"iTXt", b"iTXt", b"IDAT", b"IEND"]
    rows = zlib.decompress(chunks[3][1])
    assert len(rows) == 4 * (1 + 5 * 3)
    assert all(rows[row * 16] == 2 for row in range(4))  # the Up filter on every row


def test_a_palette_image_is_written_as_rgb():
    image = Image.new("P", (8, 8))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (0, 0, 4, 8))
    back = Image.open(io.BytesIO(pngs.encode_png(image, RECORD)))
    assert back.mode == "RGB"
    assert back.getpixel((0, 0)) == (0, 0, 255) and back.getpixel((7, 0)) == (255, 0, 0)


def test_files_are_no_larger_than_pillows_at_the_level_it_replaced():
    """Up and ISA-L's level 1 against Pillow's adaptive filters at zlib level 1,
    on a photograph, a smooth picture and noise."""
    from matplotlib.cbook import get_sample_data

    with get_sample_data("grace_hopper.jpg") as file:  # a photograph, 512x600
        photo = Image.open(file).convert("RGB")
    y, x = np.mgrid[0:256, 0:256]
    rng = np.random.default_rng(3)
    smooth = np.stack([x, y, (x + y) // 2], axis=-1) + rng.integers(0, 6, (256, 256, 3))
    smooth_image = Image.fromarray(smooth.clip(0, 255).astype(np.uint8), "RGB")
    noise = Image.fromarray(random_pixels("RGB", (256, 256)), "RGB")
    for image in (photo, smooth_image, noise):
        pillows = io.BytesIO()
        image.save(pillows, "PNG", compress_level=1)
        assert len(pngs.encode_png(image, RECORD)) <= len(pillows.getvalue()) * 1.02 + 2048


def test_thumbnails_keep_the_aspect_within_256():
    for size, expected in [
        ((512, 512), (256, 256)),
        ((768, 512), (256, 171)),
        ((64, 48), (64, 48)),
    ]:
        thumbnail = Image.open(io.BytesIO(pngs.thumbnail_jpeg(Image.new("RGB", size, "teal"))))
        assert thumbnail.format == "JPEG" and thumbnail.size == expected
        assert thumbnail.getpixel((0, 0)) == pytest.approx((0, 128, 128), abs=3)
