"""A clip's waveform for the pages: its loudest sample per slice of time (a
"peak", 0 to 1), drawn as an inline SVG that takes the page's text colour, so
it suits the light and the dark theme alike (the worker's waveform PNG has one
fixed colour).

Peaks are read from the WAV with the standard library's `wave` module (the web
process loads no audio library) once per clip, and kept beside the clip in
media storage as `<clip>-peaks.json`; Artifact.delete_files removes them with
the clip. FLAC, OGG and MP3 clips, which `wave` cannot read, keep the PNG.
"""

import json
import logging
import wave
from array import array
from typing import IO, Any

from django.core.files.base import ContentFile

log = logging.getLogger(__name__)

COLUMNS = 120
HEIGHT = 40  # the SVG's own units; CSS sizes it
_SAMPLE_TYPES = {1: "b", 2: "h", 4: "i"}


def peaks_from_wav(stream: IO[bytes], columns: int = COLUMNS) -> list[float]:
    """The loudest sample (0..1) in each of `columns` equal slices of the clip,
    all channels together. ValueError for anything but 8-, 16- or 32-bit PCM."""
    try:
        with wave.open(stream, "rb") as clip:
            width, frames = clip.getsampwidth(), clip.getnframes()
            data = clip.readframes(frames)
            channels = clip.getnchannels()
    except (wave.Error, EOFError) as error:
        raise ValueError(f"not a PCM WAV file ({error})") from None
    if width not in _SAMPLE_TYPES:
        raise ValueError(f"{8 * width}-bit samples are not read here")
    samples = array(_SAMPLE_TYPES[width])
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        samples = array("b", (byte - 128 for byte in data))
    else:
        samples.frombytes(data[: len(data) - len(data) % width])
    if not samples:
        return [0.0] * columns
    full_scale = float(2 ** (8 * width - 1))
    frames_total = len(samples) // channels
    peaks = []
    for column in range(columns):
        # Whole frames per slice, so a slice never splits one frame's channels.
        start = column * frames_total // columns * channels
        end = max((column + 1) * frames_total // columns * channels, start + channels)
        piece = samples[start:end]
        loudest = max(max(piece), -min(piece)) if piece else 0
        peaks.append(round(min(1.0, loudest / full_scale), 3))
    return peaks


def peaks_name(artifact: Any) -> str:
    """Where a clip's peaks are kept: beside the clip."""
    stem = (artifact.file.name or "").rsplit(".", 1)[0]
    return f"{stem}-peaks.json"


def cached_peaks(artifact: Any) -> list[float] | None:
    """The clip's peaks, computed on first use and kept; None for a clip that is
    not a WAV file or is gone from storage (the page shows the PNG instead)."""
    if artifact.mime_type not in ("audio/wav", "audio/x-wav") or not artifact.file:
        return None
    storage, name = artifact.file.storage, peaks_name(artifact)
    try:
        with storage.open(name, "rb") as kept:
            return [float(peak) for peak in json.load(kept)]
    except (OSError, ValueError, TypeError):
        pass  # not made yet, or unreadable: make it again
    try:
        with artifact.file.open("rb") as clip:
            peaks = peaks_from_wav(clip)
    except (OSError, ValueError) as error:
        log.warning("no waveform for artifact %s: %s", artifact.pk, error)
        return None
    try:
        if storage.exists(name):
            storage.delete(name)
        storage.save(name, ContentFile(json.dumps(peaks).encode()))
    except OSError as error:  # a read-only store still gets its waveform, made each time
        log.warning("could not keep the waveform of artifact %s: %s", artifact.pk, error)
    return peaks


def svg_path(peaks: list[float], height: int = HEIGHT) -> str:
    """An SVG path of one vertical bar per peak, mirrored about the middle, in a
    `0 0 len(peaks) height` view box (each bar is drawn with a stroke)."""
    middle = height / 2
    bars = []
    for x, peak in enumerate(peaks):
        half = max(0.5, peak * middle)  # silence still shows as a thin line
        bars.append(f"M{x + 0.5} {middle - half:.2f}V{middle + half:.2f}")
    return "".join(bars)
