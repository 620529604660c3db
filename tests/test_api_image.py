"""POST /api/v1/images/generations: bad requests get 422 naming the field and the
reason, never 500 and never a job; good ones (JSON or multipart) get 202."""

import base64
import io
import json

import pytest
from PIL import Image

from genhub.models import Artifact, Job

URL = "/api/v1/images/generations"


def post(client, body):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=raw, content_type="application/json")


def image_bytes(size=(64, 64), image_format="PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, image_format)
    return buffer.getvalue()


def data_url(data, mime="image/png"):
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def error_for(response):
    assert response.status_code == 422, response.content
    return response.json()["detail"]


@pytest.fixture(autouse=True)
def _model(tiny_image):
    return tiny_image


def gif_bytes():
    buffer = io.BytesIO()
    Image.new("P", (8, 8)).save(buffer, "GIF")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "body, field, reason",
    [
        ({"prompt": ""}, "prompt", "empty"),
        ({"prompt": "a\u0000b"}, "prompt", "NUL"),
        ({"prompt": "hi", "width": 65}, "width", "not a multiple of 8 (try 64)"),
        ({"prompt": "hi", "height": 100}, "height", "not a multiple of 8"),
        ({"prompt": "hi", "width": 0}, "width", "greater than or equal to 8"),
        ({"prompt": "hi", "steps": 0}, "steps", "greater than or equal to 1"),
        ({"prompt": "hi", "steps": 151}, "steps", "less than or equal to 150"),
        ({"prompt": "hi", "guidance_scale": 31}, "guidance_scale", "less than or equal to 30"),
        ({"prompt": "hi", "num_images": 9}, "num_images", "less than or equal to 8"),
        ({"prompt": "hi", "num_images": 0}, "num_images", "greater than or equal to 1"),
        ({"prompt": "hi", "scheduler": "Heun"}, "scheduler", "'DDIM'"),
        ({"prompt": "hi", "strength": 0}, "strength", "greater than 0"),
        ({"prompt": "hi", "strength": 1.5}, "strength", "less than or equal to 1"),
        ({"prompt": "hi", "seed": -1}, "seed", "greater than or equal to 0"),
        ({"prompt": "hi", "size": 512}, "size", "Extra inputs are not permitted"),
        ({"prompt": "hi", "init_image": "not base64!"}, "init_image", "not a base64 string"),
        (
            {"prompt": "hi", "init_image": base64.b64encode(b"hello, not an image").decode()},
            "init_image",
            "not a readable image",
        ),
        ({"prompt": "hi", "init_image": data_url(gif_bytes())}, "init_image", "a GIF image"),
        (
            {"prompt": "hi", "init_image": "artifact:0f0e0d0c-0b0a-0908-0706-050403020100"},
            "init_image",
            "no artifact",
        ),
    ],
)
def test_bad_fields_are_named(alice_api, body, field, reason):
    detail = error_for(post(alice_api, body))
    assert detail[0]["loc"] == ["body", field], detail
    assert reason in detail[0]["msg"], detail
    assert not Job.objects.exists()


def test_a_size_over_the_pixel_budget_is_refused(alice_api, settings):
    settings.GENHUB_IMAGE_MAX_PIXELS = 512 * 512
    detail = error_for(post(alice_api, {"prompt": "hi", "width": 1024, "height": 512}))
    assert detail[0]["loc"] == ["body", "width"]
    assert "over the limit of 262144 pixels" in detail[0]["msg"]


def test_a_size_over_the_models_maximum_is_refused(alice_api):
    # the tiny model's options say max_width 256
    detail = error_for(post(alice_api, {"prompt": "hi", "width": 512, "height": 64}))
    assert detail[0]["loc"] == ["body", "width"]
    assert "over this model's maximum of 256" in detail[0]["msg"]


def test_an_init_image_with_too_many_pixels_is_refused_before_decoding(alice_api, settings):
    settings.GENHUB_IMAGE_MAX_INPUT_PIXELS = 100 * 100
    body = {"prompt": "hi", "init_image": data_url(image_bytes((128, 128)))}
    detail = error_for(post(alice_api, body))
    assert detail[0]["loc"] == ["body", "init_image"]
    assert "128×128, over the 10000-pixel limit" in detail[0]["msg"]


def test_an_init_image_over_the_byte_limit_is_refused(alice_api, settings):
    settings.GENHUB_MAX_UPLOAD_BYTES = 1000
    body = {"prompt": "hi", "init_image": data_url(b"\x89PNG" + bytes(4000))}
    detail = error_for(post(alice_api, body))
    assert detail[0]["loc"] == ["body", "init_image"]
    assert "upload limit" in detail[0]["msg"]


def test_an_init_image_that_sets_a_size_over_the_budget_names_it(alice_api, settings):
    settings.GENHUB_IMAGE_MAX_PIXELS = 64 * 64
    body = {"prompt": "hi", "init_image": data_url(image_bytes((128, 128)))}
    detail = error_for(post(alice_api, body))
    assert detail[0]["loc"] == ["body", "init_image"]


def test_too_few_denoising_steps_for_the_strength_is_refused(alice_api):
    body = {"prompt": "hi", "init_image": data_url(image_bytes()), "steps": 3, "strength": 0.2}
    detail = error_for(post(alice_api, body))
    assert detail[0]["loc"] == ["body", "strength"]
    assert "less than one denoising step" in detail[0]["msg"]


def test_malformed_json_and_unknown_models_are_422(alice_api):
    detail = error_for(post(alice_api, '{"prompt": '))
    assert "Malformed JSON" in detail[0]["msg"]
    detail = error_for(post(alice_api, "[1, 2]"))
    assert "JSON object" in detail[0]["msg"]
    detail = error_for(post(alice_api, {"prompt": "hi", "model": "sdxl-nope"}))
    assert detail[0]["loc"] == ["body", "model"] and "tiny-image" in detail[0]["msg"]


def test_a_json_request_is_queued_with_the_models_defaults(alice_api):
    response = post(alice_api, {"prompt": "a red fox", "seed": 3})
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["modality"] == "image" and job["status"] == "queued"
    assert job["model"] == "tiny-image"
    assert job["params"]["steps"] == 8  # from the model's default_params
    assert job["params"]["seed"] == 3
    assert job["artifacts"] == []


def test_a_multipart_upload_becomes_an_input_artifact(alice_api):
    upload = io.BytesIO(image_bytes((96, 64), "JPEG"))
    upload.name = "photo.jpg"
    response = alice_api.post(
        URL,
        {
            "prompt": "a painting",
            "strength": "0.6",
            "steps": "10",
            "width": "",
            "init_image": upload,
        },
    )
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["params"]["strength"] == 0.6 and job["params"]["width"] is None
    [given] = job["artifacts"]
    assert given["role"] == "input" and given["field"] == "init_image"
    assert given["mime_type"] == "image/jpeg" and (given["width"], given["height"]) == (96, 64)
    assert job["params"]["init_image"] == f"artifact:{given['id']}"
    assert alice_api.get(given["url"]).status_code == 200


def test_a_base64_init_image_is_kept_and_not_stored_in_the_params(alice_api):
    data = image_bytes((64, 64), "WEBP")
    response = post(alice_api, {"prompt": "hi", "init_image": base64.b64encode(data).decode()})
    assert response.status_code == 202, response.content
    job = response.json()
    given = Artifact.objects.get(job_id=job["id"])
    assert given.mime_type == "image/webp"
    with given.file.open("rb") as stored:
        assert stored.read() == data
    assert len(json.dumps(job["params"])) < 1000


def test_a_multipart_upload_that_is_not_an_image_is_refused(alice_api):
    upload = io.BytesIO(b"just text")
    upload.name = "notes.txt"
    response = alice_api.post(URL, {"prompt": "hi", "init_image": upload})
    detail = error_for(response)
    assert detail[0]["loc"] == ["body", "init_image"]
    assert not Artifact.objects.exists()


def test_the_openapi_schema_documents_both_body_kinds(alice_api):
    schema = alice_api.get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/images/generations"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert "init_image" in body["application/json"]["schema"]["properties"]


def test_a_model_that_is_not_a_name_is_422(alice_api):
    detail = error_for(post(alice_api, {"prompt": "hi", "model": {"name": "x"}}))
    assert detail[0]["loc"] == ["body", "model"]


def test_a_multipart_upload_over_the_byte_limit_is_refused(alice_api, settings):
    settings.GENHUB_MAX_UPLOAD_BYTES = 100
    upload = io.BytesIO(image_bytes((64, 64)))
    upload.name = "big.png"
    detail = error_for(alice_api.post(URL, {"prompt": "hi", "init_image": upload}))
    assert detail[0]["loc"] == ["body", "init_image"] and "upload limit" in detail[0]["msg"]


def test_one_side_alone_is_refused_naming_the_other(alice_api):
    detail = error_for(post(alice_api, {"prompt": "hi", "width": 128}))
    assert detail[0]["loc"] == ["body", "height"] and "together" in detail[0]["msg"]


def test_deeply_nested_json_is_a_422_not_a_500(alice_api):
    detail = error_for(post(alice_api, "[" * 5000 + "]" * 5000))
    assert "Malformed JSON" in detail[0]["msg"]


def _stored_artifact(owner, data, mime, **fields):
    from genhub import artifacts
    from genhub.jobs import submit_job

    job = submit_job(owner, "image", None, {"prompt": "earlier"})
    return artifacts.save_output(
        job, 0, data, mime_type=mime, extension=mime.split("/")[1], **fields
    )


def test_an_earlier_image_as_init_image_is_held_to_the_pixel_budget(alice, alice_api, settings):
    big = _stored_artifact(alice, image_bytes((128, 128)), "image/png", width=128, height=128)
    settings.GENHUB_IMAGE_MAX_PIXELS = 64 * 64
    detail = error_for(post(alice_api, {"prompt": "hi", "init_image": f"artifact:{big.pk}"}))
    assert detail[0]["loc"] == ["body", "init_image"] and "over the limit" in detail[0]["msg"]


def test_an_init_image_reference_must_name_an_image(alice, alice_api):
    clip = _stored_artifact(alice, b"RIFF....WAVE", "audio/wav")
    detail = error_for(post(alice_api, {"prompt": "hi", "init_image": f"artifact:{clip.pk}"}))
    assert detail[0]["loc"] == ["body", "init_image"] and "not image" in detail[0]["msg"]


def test_deleting_a_job_deletes_its_files(alice, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    artifact = _stored_artifact(alice, image_bytes(), "image/png", thumbnail=b"jpg")
    names = [artifact.file.name, artifact.thumbnail.name]
    assert all(default_storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):
        artifact.job.delete()
    assert not any(default_storage.exists(name) for name in names)
