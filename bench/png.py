"""PNG encoding: Pillow's encoder, as the worker used it until 2026-12-04, against
genhub/png_writer.py, side by side in one run.

Both write the same pixels with the same generation record (two iTXt chunks).
Pillow at zlib level 1 (its adaptive filters per row); GenHub's writer with the
Up filter and ISA-L's level 1. Two kinds of picture at each size: `photo`
(matplotlib's sample photograph, resized; a trained model's images are
photograph-like) and `noisy` (uniform noise, as the benches' random-weight
models make: the worst case for the deflate). Each round times one of each, taking turns going first.
Also the thumbnail, Pillow's default bicubic shrink against a box shrink first.

Goal: GenHub's files no more than 2 % larger than Pillow's, and faster at every
size (exit status 1 when missed).

    .venv/bin/python bench/png.py [--sizes 256,512,1024] [--rounds 15]
"""

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RECORD = {
    "prompt": "a lighthouse on a cliff at dusk, oil painting",
    "negative_prompt": "",
    "steps": 25,
    "scheduler": "euler",
    "guidance_scale": 7.5,
    "seed": 1234,
    "width": 512,
    "height": 512,
    "model": "sd15",
}
SIZE_SLACK = 1.02


def picture(kind: str, size: int) -> Any:
    import numpy as np
    from PIL import Image

    if kind == "noisy":
        rng = np.random.default_rng(size)
        return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "RGB")
    from matplotlib.cbook import get_sample_data

    with get_sample_data("grace_hopper.jpg") as file:  # a photograph, 512x600
        photo = Image.open(file).convert("RGB")
    return photo.resize((size, size), Image.Resampling.LANCZOS)


def pillow_png(image: Any) -> bytes:
    import json

    from PIL.PngImagePlugin import PngInfo

    from imagegen.pngs import a1111_parameters

    info = PngInfo()
    info.add_itxt("parameters", a1111_parameters(RECORD))
    info.add_itxt("genhub", json.dumps(RECORD, sort_keys=True, ensure_ascii=False))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def genhub_png(image: Any) -> bytes:
    from imagegen.pngs import encode_png

    return encode_png(image, RECORD)


def pillow_thumbnail(image: Any) -> bytes:
    small = image.convert("RGB")
    small.thumbnail((256, 256))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def genhub_thumbnail(image: Any) -> bytes:
    from imagegen.pngs import thumbnail_jpeg

    return thumbnail_jpeg(image)


def timed(encode: Callable[[Any], bytes], image: Any) -> float:
    started = time.perf_counter()
    encode(image)
    return time.perf_counter() - started


def in_turns(
    old: Callable[[Any], bytes], new: Callable[[Any], bytes], image: Any, rounds: int
) -> tuple[float, float, float]:
    """(old ms, new ms, paired old/new): medians over `rounds`, each pair in turns."""
    old(image), new(image)  # a first call imports and warms up
    olds, news = [], []
    for number in range(rounds):
        if number % 2:
            olds.append(timed(old, image))
        news.append(timed(new, image))
        if not number % 2:
            olds.append(timed(old, image))
    paired = statistics.median(o / n for o, n in zip(olds, news, strict=True))
    return statistics.median(olds) * 1000, statistics.median(news) * 1000, paired


def run(sizes: list[int], rounds: int) -> bool:
    passed = True
    results: list[str] = []
    print(
        "| picture | Pillow ms | GenHub ms | speed-up (paired) | Pillow bytes | GenHub bytes "
        "| size ratio |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in sizes:
        for kind in ("photo", "noisy"):
            image = picture(kind, size)
            old_ms, new_ms, paired = in_turns(pillow_png, genhub_png, image, rounds)
            old_bytes, new_bytes = len(pillow_png(image)), len(genhub_png(image))
            ratio = new_bytes / old_bytes
            passed = passed and paired > 1 and ratio <= SIZE_SLACK
            print(
                f"| {size}x{size} {kind} | {old_ms:.1f} | {new_ms:.2f} | {paired:.1f} x "
                f"| {old_bytes:,} | {new_bytes:,} | {ratio:.3f} |"
            )
            name = f"png-{size}-{kind}"
            results += [
                f"RESULT {name}-pillow-ms {old_ms:.2f}",
                f"RESULT {name}-genhub-ms {new_ms:.2f}",
                f"RESULT {name}-speedup {paired:.2f}",
                f"RESULT {name}-size-ratio {ratio:.3f}",
            ]
    print("\n| thumbnail of | Pillow's bicubic ms | box first ms | speed-up (paired) |")
    print("| --- | ---: | ---: | ---: |")
    for size in sizes:
        if size <= 256:
            continue  # already thumbnail-sized: neither shrinks it
        image = picture("photo", size)
        old_ms, new_ms, paired = in_turns(pillow_thumbnail, genhub_thumbnail, image, rounds)
        passed = passed and paired > 1
        print(f"| {size}x{size} | {old_ms:.2f} | {new_ms:.2f} | {paired:.1f} x |")
        results.append(f"RESULT thumbnail-{size}-speedup {paired:.2f}")
    print("", *results, sep="\n")
    verdict = "PASS" if passed else "FAIL"
    print(f"\n{verdict}  faster at every size, files at most {SIZE_SLACK:.2f} x Pillow's")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="256,512,1024", help="square sizes (default 256,512,1024)"
    )
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    return 0 if run([int(s) for s in args.sizes.split(",")], args.rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
