"""The audio runner on the tiny MusicGen, in this process: durations in every
format, tags, seeds, progress by frame, cancel and the waveform."""

import hashlib
import io
import json

import numpy as np
import pytest
import soundfile
from PIL import Image

from audiogen.params import AudioParams
from audiogen.runner import run
from genhub.errors import JobCancelled, JobError
from genhub.jobs import submit_job
from genhub.models import Artifact
from genhub.worker.progress import JobProgress

FRAME_SECONDS = 1 / 50  # the tiny codec's frame, as the real ones'


class RecordingProgress(JobProgress):
    def __init__(self, job, cancel_at_step=None):
        super().__init__(job)
        self.steps = []
        self.cancel_at_step = cancel_at_step

    def step(self, step, total, preview=None):
        self.steps.append((step, total))
        if self.cancel_at_step is not None and len(self.steps) >= self.cancel_at_step:
            self.mark_cancel_requested()
        super().step(step, total, preview)


def generate(owner, **params):
    job = submit_job(owner, "audio", None, {"prompt": "lo-fi beat", **params})
    progress = RecordingProgress(job)
    return job, run(job, AudioParams.model_validate(job.params), progress), progress


def stored(artifact_id):
    with Artifact.objects.get(pk=artifact_id).file.open("rb") as handle:
        return handle.read()


@pytest.mark.parametrize("audio_format", ["wav", "flac", "ogg", "mp3"])
def test_each_format_decodes_to_the_asked_duration_with_the_record_in_its_tags(
    alice, tiny_audio, audio_format
):
    job, result, _ = generate(alice, duration=1.5, seed=3, format=audio_format)
    [clip] = result["clips"]
    data = stored(clip["artifact"])
    samples, rate = soundfile.read(io.BytesIO(data), always_2d=True)
    assert rate == 16000 and samples.shape[1] == 1
    assert abs(len(samples) / rate - 1.5) <= FRAME_SECONDS
    tags = soundfile.SoundFile(io.BytesIO(data)).copy_metadata()
    record = json.loads(tags["comment"])
    assert record == job.artifacts.get().record
    assert (record["prompt"], record["duration"], record["seed"]) == ("lo-fi beat", 1.5, 3)
    assert record["format"] == audio_format and tags["title"] == "lo-fi beat"
    artifact = job.artifacts.get()
    assert artifact.mime_type == {"wav": "audio/wav", "flac": "audio/flac"}.get(
        audio_format, artifact.mime_type
    )
    assert (artifact.sample_rate, artifact.channels, artifact.seed) == (16000, 1, 3)
    assert artifact.duration_seconds == pytest.approx(1.5, abs=FRAME_SECONDS)


def test_the_same_seed_gives_the_same_samples(alice, tiny_audio):
    _, first, progress = generate(alice, duration=1.0, seed=11)
    assert progress.metrics["save_seconds"] > 0  # records, files and rows, timed
    _, again, _ = generate(alice, duration=1.0, seed=11)
    _, other, _ = generate(alice, duration=1.0, seed=12)
    first_wav = stored(first["clips"][0]["artifact"])
    assert first_wav == stored(again["clips"][0]["artifact"])
    assert first_wav != stored(other["clips"][0]["artifact"])


def test_progress_counts_frames_in_tens_of_events(alice, tiny_audio, settings):
    settings.GENHUB_TOKEN_COALESCE_MS = 0  # events by frame count only
    _, _, progress = generate(alice, duration=30.0, seed=1, guidance_scale=1.0)
    frames = [step for step, _ in progress.steps]
    assert frames == sorted(set(frames))
    assert frames[-1] == 1500 and {total for _, total in progress.steps} == {1500}
    assert 20 <= len(frames) <= 50


def test_progress_events_are_no_closer_than_the_coalescing_window(alice, tiny_audio, settings):
    settings.GENHUB_TOKEN_COALESCE_MS = 10_000
    _, _, progress = generate(alice, duration=5.0, seed=1)
    assert [step for step, _ in progress.steps] == [6, 250]  # the first, then the last


def test_cancel_stops_within_a_frame_step_and_keeps_no_file(alice, tiny_audio):
    job = submit_job(alice, "audio", None, {"prompt": "x", "duration": 20.0, "seed": 1})
    progress = RecordingProgress(job, cancel_at_step=1)
    with pytest.raises(JobCancelled):
        run(job, AudioParams.model_validate(job.params), progress)
    assert len(progress.steps) == 1  # the next step's hook saw the flag
    assert not job.artifacts.exists()


def test_the_waveform_is_a_picture_of_the_clip(alice, tiny_audio):
    job, result, _ = generate(alice, duration=1.0, seed=5)
    artifact = job.artifacts.get()
    waveform = Image.open(artifact.thumbnail.open("rb"))
    assert waveform.format == "PNG" and waveform.size == (800, 120)
    alpha = np.asarray(waveform)[:, :, 3]
    drawn_columns = (alpha > 0).any(axis=0)
    assert drawn_columns.all(), "every column has a bar"
    assert result["clips"][0]["thumbnail_url"].endswith("/thumbnail")


def test_a_flat_clip_draws_a_flat_line():
    from audiogen.waveforms import waveform_png

    silent = Image.open(io.BytesIO(waveform_png(np.zeros((16000, 1), dtype=np.float32))))
    rows = (np.asarray(silent)[:, :, 3] > 0).any(axis=1)
    assert rows.sum() <= 2  # the middle line only


def test_a_melody_clip_needs_a_melody_model(alice, tiny_audio):
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(8000, dtype=np.float32), 16000, format="WAV")
    tiny_audio.options = {**tiny_audio.options, "melody": True}  # an admin's mistake
    tiny_audio.save()
    import base64

    melody = base64.b64encode(buffer.getvalue()).decode()
    job = submit_job(alice, "audio", None, {"prompt": "x", "duration": 1.0, "melody": melody})
    with pytest.raises(JobError, match="not a melody model"):
        run(job, AudioParams.model_validate(job.params), RecordingProgress(job))


@pytest.mark.parametrize("audio_format", ["wav", "mp3"])
def test_a_long_non_ascii_prompt_still_gives_a_readable_file_and_tag(
    alice, tiny_audio, audio_format
):
    prompt = "café " * 380  # 1900 characters (the test limit is 2000), not ASCII
    job, result, _ = generate(alice, prompt=prompt, duration=0.5, seed=1, format=audio_format)
    data = stored(result["clips"][0]["artifact"])
    tags = soundfile.SoundFile(io.BytesIO(data)).copy_metadata()
    record = json.loads(tags["comment"])
    assert record["truncated"] is True and record["prompt"].startswith("café café")
    assert job.artifacts.get().record["prompt"] == prompt  # the row keeps it whole


# --- melody models ----------------------------------------------------------------


def tone(frequency, seconds=2.0, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def test_the_chromagram_finds_the_note_that_sounds():
    from audiogen.chroma import melody_features
    from audiogen.tiny import MELODY_FEATURES

    a4 = melody_features(tone(440.0), 16000, MELODY_FEATURES)[0]
    c4 = melody_features(tone(261.63, rate=44100), 44100, MELODY_FEATURES)[0]
    assert a4.shape[1] == 12 and set(a4.sum(dim=1).tolist()) == {1.0}  # one-hot frames
    assert set(a4.argmax(dim=1).tolist()) == {9}  # A, counting from C
    assert set(c4.argmax(dim=1).tolist()) == {0}
    blip = melody_features(tone(440.0, seconds=0.05), 16000, MELODY_FEATURES)
    assert blip.shape[1] >= 1  # shorter than one window: padded, not an error


def melody_job(owner, frequency, **params):
    import base64

    buffer = io.BytesIO()
    soundfile.write(buffer, tone(frequency), 16000, format="FLAC")
    body = {"prompt": "a tune", "duration": 1.0, "seed": 7, **params}
    body["melody"] = base64.b64encode(buffer.getvalue()).decode()
    job = submit_job(owner, "audio", "tiny-audio-melody", body)
    return job, run(job, AudioParams.model_validate(job.params), RecordingProgress(job))


def test_a_melody_model_takes_the_clip_and_keeps_it(alice, tiny_audio):
    job, result = melody_job(alice, 440.0)
    clip, rate = soundfile.read(io.BytesIO(stored(result["clips"][0]["artifact"])))
    assert abs(len(clip) / rate - 1.0) <= FRAME_SECONDS
    given = job.artifacts.get(role="input")
    assert given.field == "melody" and given.mime_type == "audio/flac"
    with given.file.open("rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    assert job.artifacts.get(role="output").record["melody_sha256"] == digest


def test_another_melody_with_the_same_seed_gives_other_music(alice, tiny_audio):
    _, a_result = melody_job(alice, 440.0)
    _, c_result = melody_job(alice, 261.63)
    _, again = melody_job(alice, 440.0)

    def samples(result):
        return soundfile.read(io.BytesIO(stored(result["clips"][0]["artifact"])))[0]

    assert not np.array_equal(samples(a_result), samples(c_result))
    assert stored(a_result["clips"][0]["artifact"]) == stored(again["clips"][0]["artifact"])


def test_out_of_memory_names_the_duration_and_the_worker_goes_on(alice, tiny_audio, monkeypatch):
    """What a CUDA out-of-memory error looks like to the runner, on a CPU."""
    import torch
    from transformers import MusicgenForConditionalGeneration

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 4.00 GiB")

    monkeypatch.setattr(MusicgenForConditionalGeneration, "generate", out_of_memory)
    job = submit_job(alice, "audio", None, {"prompt": "x", "duration": 25.0})
    with pytest.raises(JobError, match=r"making 25.0 s of audio\. Ask for a shorter duration"):
        run(job, AudioParams.model_validate(job.params), RecordingProgress(job))
    assert not job.artifacts.exists()
    monkeypatch.undo()
    _, result, _ = generate(alice, duration=0.5, seed=1)
    assert result["clips"]
