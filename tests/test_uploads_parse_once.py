"""One parse per request: an uploaded image or clip is decoded and checked once,
a multipart file is never turned into base64 and back, and a reference to an
earlier artifact is looked up once."""

import base64
import io
import json
from typing import Any

import numpy as np
import pytest
import soundfile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

import genhub.uploads
from genhub.models import Artifact, Job

pytestmark = pytest.mark.unit


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros((1600, 1), dtype="float32"), 16000, format="WAV")
    return buffer.getvalue()


class Counter:
    """Wraps a function and counts the calls."""

    def __init__(self, function: Any) -> None:
        self.function, self.calls = function, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.function(*args, **kwargs)


@pytest.fixture
def image_opens(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter(Image.open)
    monkeypatch.setattr(Image, "open", counter)
    return counter


@pytest.fixture
def base64_decodes(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter(base64.b64decode)
    monkeypatch.setattr(genhub.uploads.base64, "b64decode", counter)
    return counter


def test_a_json_init_image_is_decoded_and_checked_once(
    alice_api: Any, tiny_image: Any, image_opens: Counter, base64_decodes: Counter
) -> None:
    body = {"prompt": "x", "init_image": base64.b64encode(png_bytes()).decode()}
    response = alice_api.post(
        "/api/v1/images/generations", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 202, response.content
    assert (base64_decodes.calls, image_opens.calls) == (1, 1)
    job = Job.objects.get()
    assert job.params["init_image"] == f"artifact:{job.artifacts.get(role='input').pk}"


def test_a_multipart_init_image_is_checked_once_and_never_base64(
    alice_api: Any, tiny_image: Any, image_opens: Counter, base64_decodes: Counter
) -> None:
    upload = io.BytesIO(png_bytes())
    upload.name = "photo.png"
    response = alice_api.post(
        "/api/v1/images/generations", {"prompt": "x", "strength": "0.5", "init_image": upload}
    )
    assert response.status_code == 202, response.content
    assert (base64_decodes.calls, image_opens.calls) == (0, 1)
    stored = Job.objects.get().artifacts.get(role="input")
    assert (stored.width, stored.height, stored.mime_type) == (64, 64, "image/png")


def test_a_melody_clip_is_read_once(
    alice_api: Any, tiny_audio: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Counter(soundfile.info)
    monkeypatch.setattr(soundfile, "info", reads)
    upload = io.BytesIO(wav_bytes())
    upload.name = "tune.wav"
    response = alice_api.post(
        "/api/v1/audio/generations",
        {"prompt": "x", "model": "tiny-audio-melody", "melody": upload},
    )
    assert response.status_code == 202, response.content
    assert reads.calls == 1


def test_a_reference_to_an_earlier_artifact_is_looked_up_once(
    alice: Any, alice_api: Any, tiny_image: Any
) -> None:
    earlier = Job.objects.create(
        owner=alice, modality="image", model=tiny_image, prompt="earlier", params={}
    )
    artifact = Artifact(job=earlier, mime_type="image/png", width=64, height=64)
    artifact.file.save("earlier.png", io.BytesIO(png_bytes()), save=False)
    artifact.save()
    body = {"prompt": "again", "init_image": f"artifact:{artifact.pk}"}
    with CaptureQueriesContext(connection) as queries:
        response = alice_api.post(
            "/api/v1/images/generations", json.dumps(body), content_type="application/json"
        )
    assert response.status_code == 202, response.content
    lookups = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and artifact.pk.hex in q["sql"].replace("-", "")
    ]
    assert len(lookups) == 1, "\n".join(lookups)


def test_an_unknown_file_part_is_refused_like_an_unknown_field(
    alice_api: Any, tiny_image: Any
) -> None:
    upload = io.BytesIO(png_bytes())
    upload.name = "photo.png"
    response = alice_api.post("/api/v1/images/generations", {"prompt": "x", "mask": upload})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "mask"]
    assert "init_image" in error["msg"]
