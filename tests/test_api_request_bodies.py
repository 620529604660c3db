"""Bodies Django cannot read (too large, too many fields, a broken multipart) and
files that are not what they claim get a JSON answer that says what is wrong:
never Django's HTML error page, never a Python object's repr."""

import base64
import io
import json

import pytest

from genhub.models import Job

ENDPOINTS = ["text", "images", "audio"]
OBJECT_REPR = "<" + "object at"  # as in "<_io.BytesIO object at 0x7f...>"


def url(path):
    return f"/api/v1/{path}/generations"


@pytest.fixture(autouse=True)
def _models(tiny_text, tiny_image, tiny_audio):
    pass


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_json_body_over_the_limit_is_a_413_in_json(alice_api, settings, path):
    settings.GENHUB_MAX_REQUEST_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2**20
    body = json.dumps({"prompt": "x" * 2**21})
    response = alice_api.post(url(path), data=body, content_type="application/json")
    assert response.status_code == 413, response.content
    assert response["Content-Type"].startswith("application/json")
    assert "limit of 1 MiB" in response.json()["detail"]
    assert not Job.objects.exists()


@pytest.mark.parametrize("path", ["images", "audio"])
def test_a_form_with_too_many_fields_is_refused_in_json(alice_api, settings, path):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    form = {"prompt": "hi", **{f"extra{i}": "x" for i in range(20)}}
    response = alice_api.post(url(path), form)
    assert response.status_code in (400, 422), response.content
    [error] = response.json()["detail"]
    assert error["loc"] == ["body"] and "more than 10 fields" in error["msg"]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_a_multipart_body_without_a_boundary_is_refused_in_json(alice_api, path, content_type):
    body = b'--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n--x--\r\n'
    response = alice_api.post(url(path), data=body, content_type=content_type)
    assert response.status_code in (400, 422), response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    assert "None" not in response.content.decode()  # no Python value in the sentence


def test_a_file_under_an_unknown_field_is_a_422_naming_it(alice_api):
    upload = io.BytesIO(b"\x89PNG")
    upload.name = "x.png"
    response = alice_api.post(url("images"), {"prompt": "hi", "mask": upload})
    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "mask"]
    assert "No file is expected under 'mask'" in error["msg"] and "init_image" in error["msg"]


PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x40\x00\x00\x00\x40\x08\x02"
NOT_FILES = [b"hello, not a file", PNG_HEAD, PNG_HEAD + bytes(40), b"RIFF\x24\x00\x00\x00WAVEfmt "]


@pytest.fixture
def melody_model(tiny_audio):
    tiny_audio.options = {**tiny_audio.options, "melody": True}
    tiny_audio.save()


@pytest.mark.parametrize("data", NOT_FILES)
@pytest.mark.parametrize("path, field", [("images", "init_image"), ("audio", "melody")])
def test_a_file_that_cannot_be_read_is_explained_without_a_repr(
    alice_api, melody_model, path, field, data
):
    as_base64 = alice_api.post(
        url(path),
        data=json.dumps({"prompt": "hi", field: base64.b64encode(data).decode()}),
        content_type="application/json",
    )
    upload = io.BytesIO(data)
    upload.name = "upload.bin"
    as_part = alice_api.post(url(path), {"prompt": "hi", field: upload})
    for response in (as_base64, as_part):
        assert response.status_code == 422, response.content
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", field]
        assert OBJECT_REPR not in error["msg"] and "0x" not in error["msg"], error["msg"]
