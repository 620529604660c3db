"""A music prompt through the REST API, a real Celery worker and the WebSocket."""

import io
import time

import pytest
import soundfile

from tests.stack import read_events, read_until

pytestmark = pytest.mark.django_db(transaction=True)

FRAME_SECONDS = 1 / 50


def test_frames_stream_as_steps_and_the_clip_plays_in_every_format(alice_client, audio_worker):
    for audio_format in ("wav", "flac", "ogg", "mp3"):
        job = alice_client.generate_audio(
            prompt="lo-fi beat", duration=2.5, seed=4, format=audio_format
        )
        with alice_client.events(job["id"]) as socket:
            events = read_events(socket)
        steps = [e for e in events if e["type"] == "step"]
        assert steps, audio_format
        assert [e["step"] for e in steps] == sorted({e["step"] for e in steps})
        assert steps[-1]["step"] == steps[-1]["total"] == 125  # 2.5 s at 50 frames a second
        assert events[-1]["type"] == "succeeded"

        done = alice_client.job(job["id"])
        [clip] = done["artifacts"]
        assert clip["mime_type"].startswith("audio/")
        data = alice_client.http.get(clip["url"]).content
        samples, rate = soundfile.read(io.BytesIO(data), always_2d=True)
        assert abs(len(samples) / rate - 2.5) <= FRAME_SECONDS, audio_format
        assert done["result"]["clips"][0]["format"] == audio_format
        assert done["metrics"]["realtime_factor"] > 0


def test_a_player_can_seek_and_the_waveform_is_served(alice_client, audio_worker):
    job = alice_client.generate_audio(prompt="ambient pads", duration=1.0, seed=1)
    done = alice_client.wait(job["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done["error"]
    [clip] = done["artifacts"]
    partial = alice_client.http.get(clip["url"], headers={"Range": "bytes=100-199"})
    assert partial.status_code == 206 and len(partial.content) == 100
    assert partial.headers["Content-Range"] == f"bytes 100-199/{clip['bytes']}"
    waveform = alice_client.http.get(clip["thumbnail_url"])
    assert waveform.headers["Content-Type"] == "image/png"
    assert waveform.content.startswith(b"\x89PNG")


def test_cancel_stops_generation_and_keeps_no_file(alice_client, audio_worker):
    job = alice_client.generate_audio(prompt="a long drone", duration=30, seed=2)
    with alice_client.events(job["id"]) as socket:
        before = read_until(socket, "step")
        assert alice_client.http.post(f"/jobs/{job['id']}/cancel").status_code == 202
        asked = time.monotonic()
        after = read_events(socket, timeout=20)
        stopped_within = time.monotonic() - asked
    events = before + after
    assert events[-1]["type"] == "cancelled"
    assert max(e["step"] for e in events if e["type"] == "step") < 1500
    done = alice_client.job(job["id"])
    assert done["status"] == "cancelled" and done["artifacts"] == []
    assert stopped_within < 2.0


def test_a_melody_clip_uploaded_with_the_form_conditions_a_melody_model(alice_client, audio_worker):
    import numpy as np

    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(32000) / 16000)).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, tone, 16000, format="WAV")
    response = alice_client.http.post(
        "/audio/generations",
        data={"prompt": "a tune", "model": "tiny-audio-melody", "duration": "1.5", "seed": "2"},
        files={"melody": ("hum.wav", buffer.getvalue(), "audio/wav")},
    )
    assert response.status_code == 202, response.text
    done = alice_client.wait(response.json()["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done["error"]
    roles = sorted(a["role"] for a in done["artifacts"])
    assert roles == ["input", "output"]
    output = next(a for a in done["artifacts"] if a["role"] == "output")
    assert "melody_sha256" in output["record"]
    assert abs(output["duration_seconds"] - 1.5) <= FRAME_SECONDS
