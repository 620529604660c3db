"""POST /api/v1/audio/generations: bad requests get 422 naming the field and the
reason, never 500 and never a job; good ones (JSON or multipart) get 202."""

import base64
import io
import json

import numpy as np
import pytest
import soundfile

from genhub.models import Job

URL = "/api/v1/audio/generations"


def post(client, body):
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def clip_bytes(seconds=1.0, audio_format="WAV"):
    buffer = io.BytesIO()
    samples = np.sin(np.arange(int(16000 * seconds)) / 8).astype(np.float32) * 0.2
    soundfile.write(buffer, samples, 16000, format=audio_format)
    return buffer.getvalue()


def error_for(response):
    assert response.status_code == 422, response.content
    return response.json()["detail"]


@pytest.fixture(autouse=True)
def _model(tiny_audio):
    return tiny_audio


@pytest.fixture
def melody_model(tiny_audio):
    tiny_audio.options = {**tiny_audio.options, "melody": True}
    tiny_audio.save()
    return tiny_audio


@pytest.mark.parametrize(
    "body, field, reason",
    [
        ({"prompt": ""}, "prompt", "empty"),
        ({"prompt": "hi", "duration": 0}, "duration", "greater than 0"),
        ({"prompt": "hi", "duration": 0.01}, "duration", "shortest clip is 0.1 s"),
        ({"prompt": "hi", "duration": 31}, "duration", "over this model's maximum of 30 s"),
        ({"prompt": "hi", "format": "aac"}, "format", "'wav', 'flac', 'ogg' or 'mp3'"),
        ({"prompt": "hi", "temperature": 0}, "temperature", "greater than 0"),
        ({"prompt": "hi", "top_p": 1.5}, "top_p", "less than or equal to 1"),
        ({"prompt": "hi", "top_k": -1}, "top_k", "greater than or equal to 0"),
        ({"prompt": "hi", "guidance_scale": 21}, "guidance_scale", "less than or equal to 20"),
        ({"prompt": "hi", "melody": "%%%"}, "melody", "not a base64 string"),
        ({"prompt": "hi", "style": "jazz"}, "style", "Extra inputs are not permitted"),
    ],
)
def test_bad_fields_are_named(alice_api, body, field, reason):
    detail = error_for(post(alice_api, body))
    assert detail[0]["loc"] == ["body", field], detail
    assert reason in detail[0]["msg"], detail
    assert not Job.objects.exists()


def test_a_melody_clip_on_a_model_that_takes_none_is_refused(alice_api):
    body = {"prompt": "hi", "melody": base64.b64encode(clip_bytes()).decode()}
    detail = error_for(post(alice_api, body))
    assert detail[0]["loc"] == ["body", "melody"]
    assert "does not take a melody clip" in detail[0]["msg"]


def test_a_melody_that_is_not_audio_is_refused(alice_api, melody_model):
    body = {"prompt": "hi", "melody": base64.b64encode(b"RIFF, but not really").decode()}
    detail = error_for(post(alice_api, body))
    assert detail[0]["loc"] == ["body", "melody"]
    assert "not a readable audio file" in detail[0]["msg"]


def test_a_melody_over_the_length_limit_is_refused(alice_api, melody_model, settings):
    settings.GENHUB_AUDIO_MAX_MELODY_SECONDS = 1.0
    body = {"prompt": "hi", "melody": base64.b64encode(clip_bytes(2.0)).decode()}
    detail = error_for(post(alice_api, body))
    assert "2.0 s long; the limit is 1.0 s" in detail[0]["msg"]


def test_a_melody_upload_is_kept_as_an_input(alice_api, melody_model):
    upload = io.BytesIO(clip_bytes(1.0, "FLAC"))
    upload.name = "hum.flac"
    response = alice_api.post(URL, {"prompt": "hi", "duration": "2", "melody": upload})
    assert response.status_code == 202, response.content
    job = response.json()
    [given] = job["artifacts"]
    assert given["role"] == "input" and given["mime_type"] == "audio/flac"
    assert given["duration_seconds"] == 1.0 and given["sample_rate"] == 16000
    assert job["params"]["melody"] == f"artifact:{given['id']}"


def test_a_json_request_is_queued(alice_api):
    response = post(alice_api, {"prompt": "lo-fi beat", "duration": 3, "format": "mp3"})
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["modality"], job["model"], job["status"]) == ("audio", "tiny-audio", "queued")
    assert job["params"]["duration"] == 3.0 and job["params"]["format"] == "mp3"


def test_a_melody_with_many_channels_is_refused(alice_api, melody_model):
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros((1600, 6), dtype=np.float32), 16000, format="WAV")
    body = {"prompt": "hi", "melody": base64.b64encode(buffer.getvalue()).decode()}
    detail = error_for(post(alice_api, body))
    assert detail[0]["loc"] == ["body", "melody"] and "mono or stereo" in detail[0]["msg"]
