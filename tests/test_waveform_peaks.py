"""A clip's waveform peaks, read from its WAV with the standard library: the
loudest sample per slice of time, all channels together; kept beside the clip
after the first read; none for a format `wave` cannot read."""

import io
import json
import math
import struct
import wave

import pytest
from django.core.files.storage import default_storage

from genhub import artifacts
from genhub.jobs import submit_job
from genhub.waveform_peaks import cached_peaks, peaks_from_wav, peaks_name, svg_path


def wav_bytes(samples, channels=1, width=2, rate=8000):
    """A PCM WAV of `samples` (floats in -1..1, interleaved when several channels)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as clip:
        clip.setnchannels(channels)
        clip.setsampwidth(width)
        clip.setframerate(rate)
        if width == 1:
            clip.writeframes(bytes(int(128 + s * 127) for s in samples))
        else:
            scale = 2 ** (8 * width - 1) - 1
            kind = {2: "h", 4: "i"}[width]
            clip.writeframes(
                struct.pack(f"<{len(samples)}{kind}", *(int(s * scale) for s in samples))
            )
    return buffer.getvalue()


@pytest.mark.unit
def test_each_column_holds_the_loudest_sample_of_its_slice():
    # A quiet first half, a loud second half.
    samples = [0.1 * math.sin(i / 5) for i in range(4000)] + [
        0.8 * math.sin(i / 5) for i in range(4000)
    ]
    peaks = peaks_from_wav(io.BytesIO(wav_bytes(samples)), columns=8)
    assert len(peaks) == 8
    assert all(0.09 <= peak <= 0.11 for peak in peaks[:4])
    assert all(0.78 <= peak <= 0.81 for peak in peaks[4:])


@pytest.mark.unit
def test_a_negative_swing_counts_and_channels_are_read_together():
    # Left silent, right one loud negative spike in the last quarter.
    frames = [(0.0, -0.9 if i == 900 else 0.0) for i in range(1000)]
    interleaved = [sample for frame in frames for sample in frame]
    peaks = peaks_from_wav(io.BytesIO(wav_bytes(interleaved, channels=2)), columns=4)
    assert peaks[:3] == [0.0, 0.0, 0.0] and 0.89 <= peaks[3] <= 0.91


@pytest.mark.unit
@pytest.mark.parametrize("width", [1, 4])
def test_8_and_32_bit_samples_read_on_the_same_scale(width):
    peaks = peaks_from_wav(io.BytesIO(wav_bytes([0.5, -0.5] * 100, width=width)), columns=2)
    assert all(0.48 <= peak <= 0.51 for peak in peaks)


@pytest.mark.unit
def test_silence_and_a_clip_shorter_than_the_columns():
    assert peaks_from_wav(io.BytesIO(wav_bytes([])), columns=5) == [0.0] * 5
    short = peaks_from_wav(io.BytesIO(wav_bytes([0.5, 0.25])), columns=4)
    assert len(short) == 4 and max(short) == pytest.approx(0.5, abs=0.01)


@pytest.mark.unit
def test_anything_but_a_pcm_wav_is_a_value_error():
    with pytest.raises(ValueError, match="not a PCM WAV"):
        peaks_from_wav(io.BytesIO(b"fLaC\x00\x00\x00\x22" + b"\x00" * 60))


@pytest.mark.unit
def test_the_svg_path_draws_one_bar_per_peak_about_the_middle():
    assert svg_path([0.0, 1.0, 0.5], height=40) == "M0.5 19.50V20.50M1.5 0.00V40.00M2.5 10.00V30.00"


def test_peaks_are_kept_beside_the_clip_and_read_back(alice, tiny_audio):
    job = submit_job(alice, "audio", None, {"prompt": "lo-fi", "duration": 1})
    clip = artifacts.save_output(
        job, 0, wav_bytes([0.25] * 1000), mime_type="audio/wav", extension="wav"
    )
    peaks = cached_peaks(clip)
    assert peaks is not None and len(peaks) == 120 and max(peaks) == pytest.approx(0.25, abs=0.01)
    kept = peaks_name(clip)
    assert kept == clip.file.name.replace(".wav", "-peaks.json")
    # Read back, not made again: a changed cache file is what comes back.
    with default_storage.open(kept, "wb") as changed:
        changed.write(json.dumps([0.5] * 3).encode())
    assert cached_peaks(clip) == [0.5, 0.5, 0.5]


def test_a_clip_wave_cannot_read_has_no_peaks(alice, tiny_audio):
    job = submit_job(alice, "audio", None, {"prompt": "lo-fi", "duration": 1, "format": "mp3"})
    clip = artifacts.save_output(job, 0, b"ID3 mp3 bytes", mime_type="audio/mpeg", extension="mp3")
    assert cached_peaks(clip) is None
    broken = artifacts.save_output(
        job, 1, b"RIFF not really", mime_type="audio/wav", extension="wav"
    )
    assert cached_peaks(broken) is None
